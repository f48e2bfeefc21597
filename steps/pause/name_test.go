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
