package engine

import (
	"github.com/zclconf/go-cty/cty"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/cutoverhq/cutover/engine/config"
)

// load writes files into a temporary pipeline directory and loads and
// prepares it with the test registry.
func load(t *testing.T, l *eventLog, files map[string]string, in Inputs) (*Program, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, diags := config.Load(dir, testRegistry(l))
	if diags.HasErrors() {
		return nil, diags
	}
	return Prepare(cfg, in)
}

type wantDiag struct {
	summary string // substring of Summary
	detail  string // substring of Detail
	file    string
	line    int
	col     int
}

func TestDiagnostics(t *testing.T) {
	head := "pipeline \"p\" {}\n"
	tests := []struct {
		name  string
		files map[string]string
		in    Inputs
		want  []wantDiag
	}{
		{"syntax error", map[string]string{"a.hcl": head + "stage \"x\" {\n  step { value = }\n}\n"},
			Inputs{}, []wantDiag{{summary: "Invalid expression", file: "a.hcl", line: 3, col: 18}}},
		{"unknown attribute in stage", map[string]string{"a.hcl": head + "stage \"x\" {\n  retries = 3\n  step {}\n}\n"},
			Inputs{}, []wantDiag{{summary: "Unsupported argument", file: "a.hcl", line: 3, col: 3}}},
		{"unknown step kind", map[string]string{"a.hcl": head + "stage \"x\" {\n  deploy_it {}\n}\n"},
			Inputs{}, []wantDiag{{summary: "Unknown step kind", detail: "plain, safe, step", file: "a.hcl", line: 3, col: 3}}},
		{"no step", map[string]string{"a.hcl": head + "stage \"x\" {\n}\n"},
			Inputs{}, []wantDiag{{summary: "Stage has no step", file: "a.hcl", line: 2, col: 1}}},
		{"two steps", map[string]string{"a.hcl": head + "stage \"x\" {\n  step {}\n  plain {}\n}\n"},
			Inputs{}, []wantDiag{{summary: "more than one step", file: "a.hcl", line: 4, col: 3}}},
		{"duplicate stage across files", map[string]string{"a.hcl": head + "stage \"x\" {\n  step {}\n}\n", "b.hcl": "stage \"x\" {\n  step {}\n}\n"},
			Inputs{}, []wantDiag{{summary: "Duplicate stage", detail: "a.hcl:2", file: "b.hcl", line: 1, col: 1}}},
		{"depends_on unknown stage", map[string]string{"a.hcl": head + "stage \"x\" {\n  depends_on = [stage.deploi]\n  step {}\n}\nstage \"deploy\" {\n  step {}\n}\n"},
			Inputs{}, []wantDiag{{summary: "undeclared stage", detail: "Did you mean stage.deploy?", file: "a.hcl", line: 3, col: 17}}},
		{"reference to unknown output attribute", map[string]string{"a.hcl": head + "stage \"a\" {\n  step {}\n}\nstage \"b\" {\n  step { value = stage.a.output.nope }\n}\n"},
			Inputs{}, []wantDiag{{summary: "Unsupported stage output", detail: "attempt, value", file: "a.hcl", line: 6, col: 18}}},
		{"cycle names every stage", map[string]string{"a.hcl": head + "stage \"a\" {\n  depends_on = [stage.c]\n  step {}\n}\nstage \"b\" {\n  step { value = stage.a.output.value }\n}\nstage \"c\" {\n  depends_on = [stage.b]\n  step {}\n}\n"},
			Inputs{}, []wantDiag{{summary: "cycle", detail: "a → b → c → a", file: "a.hcl", line: 2, col: 1}}},
		{"invalid duration", map[string]string{"a.hcl": head + "stage \"a\" {\n  timeout = \"ten minutes\"\n  step { sleep = \"5 s\" }\n}\n"},
			Inputs{}, []wantDiag{
				{summary: "Invalid duration", detail: "\"ten minutes\" is not a duration", file: "a.hcl", line: 3, col: 13},
				{summary: "Invalid duration", detail: "\"5 s\"", file: "a.hcl", line: 4, col: 18},
			}},
		{"invalid retry", map[string]string{"a.hcl": head + "stage \"a\" {\n  retry {\n    attempts = 0\n    backoff = \"linear\"\n    delay = \"2s\"\n    max_delay = \"1s\"\n  }\n  step {}\n}\n"},
			Inputs{}, []wantDiag{
				{summary: "Invalid retry attempts", file: "a.hcl", line: 4, col: 16},
				{summary: "Invalid retry backoff", detail: "\"linear\"", file: "a.hcl", line: 5, col: 15},
				{summary: "Invalid retry max_delay", file: "a.hcl", line: 7, col: 17},
			}},
		{"missing required variable", map[string]string{"a.hcl": head + "variable \"version\" {\n  type = string\n}\nstage \"a\" {\n  step { value = var.version }\n}\n"},
			Inputs{}, []wantDiag{{summary: "No value for required variable", detail: "-var version=VALUE", file: "a.hcl", line: 2, col: 1}}},
		{"failed validation", map[string]string{"a.hcl": head + "variable \"version\" {\n  validation {\n    condition = can(regex(\"^v[0-9]\", var.version))\n    error_message = \"version must look like v1.2.3\"\n  }\n}\nstage \"a\" {\n  step { value = var.version }\n}\n"},
			Inputs{Vars: []string{"version=1.2"}}, []wantDiag{{summary: "Invalid value for variable", detail: "version must look like v1.2.3", file: "a.hcl", line: 4, col: 17}}},
		{"wrong type for attribute", map[string]string{"a.hcl": head + "stage \"a\" {\n  step { fail = \"twice\" }\n}\n"},
			Inputs{}, []wantDiag{{summary: "Incorrect attribute value type", file: "a.hcl", line: 3, col: 17}}},
		{"several errors at once", map[string]string{"a.hcl": head + "stage \"a\" {\n  step { value = var.nope }\n}\nstage \"b\" {\n  depends_on = [stage.zzz]\n  step {}\n}\n"},
			Inputs{}, []wantDiag{
				{summary: "undeclared variable", file: "a.hcl", line: 3, col: 18},
				{summary: "undeclared stage", file: "a.hcl", line: 6, col: 17},
			}},
		// Targets and waves (fleet_test.go runs them).
		{"wave names an undeclared target", map[string]string{"a.hcl": head + "target \"eu-1\" {}\nwave \"w\" { targets = [\"eu-2\"] }\nstage \"a\" {\n  step {}\n}\n"},
			Inputs{}, []wantDiag{
				{summary: "Reference to undeclared target", detail: `Did you mean "eu-1"?`, file: "a.hcl", line: 3, col: 23},
			}},
		{"target in two waves, target in none", map[string]string{"a.hcl": head + "target \"a\" {}\ntarget \"b\" {}\nwave \"one\" { targets = [\"a\"] }\nwave \"two\" { targets = [\"a\"] }\nstage \"x\" {\n  step {}\n}\n"},
			Inputs{}, []wantDiag{
				{summary: "Target in two waves", detail: `wave "one"`, file: "a.hcl", line: 5, col: 25},
				{summary: "Target in no wave", detail: `"b"`, file: "a.hcl", line: 3, col: 1},
			}},
		{"targets in no wave: one diagnostic naming them", map[string]string{"a.hcl": head + "target \"a\" {}\ntarget \"b\" {}\ntarget \"c\" {}\nwave \"one\" { targets = [\"c\"] }\nstage \"x\" {\n  step {}\n}\n"},
			Inputs{}, []wantDiag{
				{summary: "Targets in no wave", detail: `2 targets are in no wave block: "a" (line 2), "b" (line 3).`, file: "a.hcl", line: 2, col: 1},
			}},
		{"wave targets by reference", map[string]string{"a.hcl": head + "target \"a\" {}\ntarget \"b-1\" {}\nwave \"one\" { targets = [target.a] }\nwave \"two\" { targets = [target[\"b-1\"]] }\nstage \"x\" {\n  step {}\n}\n"},
			Inputs{}, nil},
		{"a wave entry that is no name, an empty wave: no spurious target in no wave", map[string]string{"a.hcl": head + "target \"a\" {}\ntarget \"b\" {}\nwave \"one\" { targets = [var.x.a] }\nwave \"two\" { targets = [] }\nstage \"x\" {\n  step {}\n}\n"},
			Inputs{}, []wantDiag{
				{summary: "Invalid wave targets", detail: "[target.canary]", file: "a.hcl", line: 4, col: 25},
				{summary: "Empty wave", detail: `Wave "two" lists no target`, file: "a.hcl", line: 5, col: 24},
			}},
		{"target without target blocks", map[string]string{"a.hcl": head + "stage \"x\" {\n  step { value = target.name }\n}\n"},
			Inputs{}, []wantDiag{{summary: "target not allowed here", file: "a.hcl", line: 3, col: 18}}},
		{"target attribute, output without target key, another target's stage", map[string]string{"a.hcl": head + "target \"a\" {}\nstage \"x\" {\n  step { value = target.region }\n}\nstage \"y\" {\n  step { value = stage.x[\"a\"].output.value }\n}\noutput \"o\" { value = stage.x.output.value }\noutput \"p\" { value = stage.x[\"b\"].output.value }\n"},
			Inputs{}, []wantDiag{
				{summary: "Invalid target reference", detail: "name, context, namespace, labels", file: "a.hcl", line: 4, col: 18},
				{summary: "Stage of another target", file: "a.hcl", line: 7, col: 18},
				{summary: "Missing target key", detail: `stage.x["a"].output`, file: "a.hcl", line: 9, col: 22},
				{summary: "Reference to undeclared target", file: "a.hcl", line: 10, col: 22},
			}},
		{"for_each with targets", map[string]string{"a.hcl": head + "target \"a\" {}\nwave \"w\" {\n  targets      = [\"a\"]\n  max_failures = 1\n}\nstage \"x\" {\n  for_each = [1]\n  step {}\n}\n"},
			Inputs{}, []wantDiag{
				{summary: "for_each in a pipeline with targets", file: "a.hcl", line: 8, col: 14},
			}},
		{"max_failures out of range", map[string]string{"a.hcl": head + "target \"a\" {}\nwave \"w\" {\n  targets      = [\"a\"]\n  max_failures = 1\n}\nstage \"x\" {\n  step {}\n}\n"},
			Inputs{}, []wantDiag{{summary: "Invalid max_failures", detail: "0 to 0", file: "a.hcl", line: 5, col: 18}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := load(t, newLog(), tc.files, tc.in)
			var errs hcl.Diagnostics
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					errs = append(errs, d)
				}
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(errs), len(tc.want), dump(errs))
			}
			for i, w := range tc.want {
				d := errs[i]
				if !strings.Contains(d.Summary, w.summary) || !strings.Contains(d.Detail, w.detail) {
					t.Errorf("error %d = %q / %q, want %q / %q", i, d.Summary, d.Detail, w.summary, w.detail)
				}
				if d.Subject == nil {
					t.Errorf("error %d has no source range", i)
					continue
				}
				if filepath.Base(d.Subject.Filename) != w.file || d.Subject.Start.Line != w.line || d.Subject.Start.Column != w.col {
					t.Errorf("error %d at %s:%d:%d, want %s:%d:%d", i, filepath.Base(d.Subject.Filename), d.Subject.Start.Line, d.Subject.Start.Column, w.file, w.line, w.col)
				}
			}
		})
	}
}

func dump(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.Error() + "\n")
	}
	return b.String()
}

func TestVariablePrecedence(t *testing.T) {
	files := map[string]string{
		"a.hcl":      "pipeline \"p\" {}\nvariable \"v\" {\n  default = \"default\"\n}\nvariable \"n\" {\n  type = number\n  default = 1\n}\n",
		"vars.hcl.x": "v = \"file\"\n",
	}
	dir := t.TempDir()
	for name, src := range files {
		os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644)
	}
	varFile := filepath.Join(dir, "vars.hcl.x")
	for _, tc := range []struct {
		in   Inputs
		want string
	}{
		{Inputs{}, "default"},
		{Inputs{Env: []string{"CUTOVER_VAR_v=env"}}, "env"},
		{Inputs{Env: []string{"CUTOVER_VAR_v=env"}, VarFiles: []string{varFile}}, "file"},
		{Inputs{Env: []string{"CUTOVER_VAR_v=env"}, VarFiles: []string{varFile}, Vars: []string{"v=flag", "v=last"}}, "last"},
	} {
		cfg, diags := config.Load(dir, testRegistry(newLog()))
		if diags.HasErrors() {
			t.Fatal(dump(diags))
		}
		p, diags := Prepare(cfg, tc.in)
		if diags.HasErrors() {
			t.Fatal(dump(diags))
		}
		if got := p.Vars["v"].AsString(); got != tc.want {
			t.Errorf("%+v: v = %q, want %q", tc.in, got, tc.want)
		}
	}
	cfg, _ := config.Load(dir, testRegistry(newLog()))
	if _, diags := Prepare(cfg, Inputs{Vars: []string{"n=abc"}}); !diags.HasErrors() {
		t.Error("a non-number for a number variable was accepted")
	}
}

// A malformed value of a sensitive variable is reported without quoting it,
// and a value nested beyond reason is a diagnostic, not a stack overflow.
func TestHostileVariableValues(t *testing.T) {
	src := `
variable "creds" {
  type      = object({ user = string, pass = string })
  sensitive = true
}
variable "n" {
  type      = number
  sensitive = true
}
variable "list" {
  type = list(number)
}
pipeline "p" {}
stage "a" {
  plain {}
}
`
	deep := strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000)
	_, diags := load(t, newLog(), map[string]string{"p.hcl": src}, Inputs{Vars: []string{
		`creds={user="bob", pass=hunter2}`, "n=notanumber99", "list=[" + deep + "]",
	}})
	if len(diags) != 3 {
		t.Fatalf("want 3 diagnostics, got %d: %s", len(diags), dump(diags))
	}
	all := dump(diags)
	for _, leak := range []string{"hunter2", "notanumber99"} {
		if strings.Contains(all, leak) {
			t.Errorf("a sensitive value is quoted: %s", all)
		}
	}
	if !strings.Contains(all, "-var list") {
		t.Errorf("the deep value is not named: %s", all)
	}
}

// A resumed run gets back the values it was started with, with their types
// (not text parsed again): above variable files and the environment, below
// a -var given now. Sensitive values are never saved.
func TestSavedValuesRoundTrip(t *testing.T) {
	src := `
variable "tags" { type = map(string) }
variable "n" { type = number }
variable "name" {}
variable "token" {
  sensitive = true
}
pipeline "p" {}
stage "a" {
  plain {}
}
`
	p, diags := load(t, newLog(), map[string]string{"p.hcl": src}, Inputs{Vars: []string{`tags={a="x y", b="1"}`, "n=3", "name=web", "token=s3cret"}})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	stored := p.PlainVars()
	if _, ok := stored["token"]; ok {
		t.Fatal("a sensitive value is saved")
	}
	saved, err := SavedValues(stored)
	if err != nil {
		t.Fatal(err)
	}
	q, diags := load(t, newLog(), map[string]string{"p.hcl": src}, Inputs{Saved: saved, Vars: []string{"name=api", "token=again"},
		Env: []string{"CUTOVER_VAR_n=9"}})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	if got := q.Vars["tags"].Index(cty.StringVal("a")).AsString(); got != "x y" {
		t.Errorf("tags.a = %q", got)
	}
	if got := q.Vars["n"].AsBigFloat().String(); got != "3" {
		t.Errorf("n = %s: the saved value must beat the environment", got)
	}
	if got := q.Vars["name"].AsString(); got != "api" {
		t.Errorf("name = %q: -var given now must beat the saved value", got)
	}
}

// A -var naming no declared variable suggests the closest one; a
// validation may weigh one variable against another.
func TestVariableTypoAndCrossValidation(t *testing.T) {
	files := map[string]string{"a.hcl": `pipeline "p" {}
variable "chart_values" {
  type    = list(string)
  default = []
}
variable "overlay" {
  type    = string
  default = ""
}
variable "pod_annotations" {
  type    = map(string)
  default = {}
  validation {
    condition     = var.overlay == "" || length(var.pod_annotations) == 0
    error_message = "pod_annotations do not reach an overlay"
  }
}
stage "x" {
  step {}
}
`}
	_, diags := load(t, newLog(), files, Inputs{Vars: []string{"chart_value=a.yaml"}})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), `declares no variable "chart_value". Did you mean chart_values?`) {
		t.Errorf("typo: %v", diags)
	}
	_, diags = load(t, newLog(), files, Inputs{Vars: []string{"overlay=o", `pod_annotations={a="b"}`}})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "-var pod_annotations: pod_annotations do not reach an overlay") ||
		diags[0].Subject == nil || diags[0].Subject.Start.Line != 14 {
		t.Errorf("cross validation: %v", diags)
	}
	for _, vars := range [][]string{{"overlay=o"}, {`pod_annotations={a="b"}`}} {
		if _, diags = load(t, newLog(), files, Inputs{Vars: vars}); diags.HasErrors() {
			t.Errorf("%v: %v", vars, diags)
		}
	}
}
