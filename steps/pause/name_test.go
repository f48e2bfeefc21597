package pause

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// A stage instance's address (weight["25"]) holds characters no name or
// label value may: its question must still be a valid ConfigMap, labelled
// with a value `cutover approve RUN STAGE` finds.
func TestNamesOfInstances(t *testing.T) {
	for stage, want := range map[string]string{
		"approval":             "approval",
		"Approve_Step":         "approve-step",
		`approval["25"]`:       "approval.25",
		`approval[25]`:         "approval.25",
		`approval["eu/west"]`:  "approval.eu-west",
		`approval["-x-"]`:      "approval.x",
		`approval["__"]`:       "approval.",
		`approval["canary 1"]`: "approval.canary-1",
	} {
		got := StageValue(stage)
		if want == "approval." {
			if len(got) <= len(want) || got[:len(want)] != want {
				t.Errorf("StageValue(%s) = %q, want %q and a checksum", stage, got, want)
			}
		} else if got != want {
			t.Errorf("StageValue(%s) = %q, want %q", stage, got, want)
		}
		if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
			t.Errorf("StageValue(%s) = %q: not a label value: %v", stage, got, errs)
		}
		if errs := validation.IsDNS1123Subdomain(Name("20261203-053806-cb703105", stage)); len(errs) > 0 {
			t.Errorf("Name(%s) = %q: not a ConfigMap name: %v", stage, Name("20261203-053806-cb703105", stage), errs)
		}
	}
}

// The printed command must survive a shell: bash would make approval["20"]
// approval[20] (still found, above), and a space would split the stage.
func TestCommandQuotesTheStage(t *testing.T) {
	for stage, want := range map[string]string{
		"gate":             "cutover approve r-1 gate -n shop",
		`approval["20"]`:   `cutover approve r-1 'approval["20"]' -n shop`,
		`approval["it's"]`: `cutover approve r-1 'approval["it'\''s"]' -n shop`,
	} {
		if got := Command("approve", "r-1", stage, "shop"); got != want {
			t.Errorf("Command(%s) = %s, want %s", stage, got, want)
		}
	}
}
