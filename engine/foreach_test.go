package engine

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
)

const canary = `
pipeline "p" { parallelism = 4 }
variable "steps" {
  type    = list(number)
  default = [5, 25, 50, 100]
}
defaults {
  timeout = "1m"
  retry {
    attempts = 3
    delay    = "1ms"
  }
}
stage "deploy" {
  step { value = "v2" }
}
stage "weight" {
  for_each   = var.steps
  sequential = true
  depends_on = [stage.deploy]
  step {
    value = "${each.key}:${each.value * 2}"
    fail  = each.value == var.fail_at ? 1 : 0
  }
}
stage "after25" {
  timeout = null
  retry {
    attempts = 1
  }
  step { value = stage.weight["25"].output.value }
}
stage "done" {
  depends_on = [stage.weight]
  step { value = join(",", [for k, s in stage.weight : s.output.value]) }
}
variable "fail_at" {
  type    = number
  default = -1
}
`

// TestForEachSequentialCanary: instances are addressed by key, chained in
// the list's order, a dependency on the whole stage waits for every
// instance and one on an instance for that one; defaults apply unless the
// stage sets its own.
func TestForEachSequentialCanary(t *testing.T) {
	p, diags := load(t, newLog(), map[string]string{"p.hcl": canary}, Inputs{})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	w := func(k string) string { return Address("weight", k) }
	wantOrder := []string{"deploy", w("5"), w("25"), w("50"), w("100"), "after25", "done"}
	if !reflect.DeepEqual(p.Order, wantOrder) {
		t.Fatalf("order %q; want %q", p.Order, wantOrder)
	}
	for addr, deps := range map[string][]string{
		w("5"): {"deploy"}, w("25"): {"deploy", w("5")}, "after25": {w("25")},
		"done": {w("5"), w("25"), w("50"), w("100")},
	} {
		if got := p.Stages[addr].Deps; !reflect.DeepEqual(got, deps) {
			t.Errorf("%s waits for %q; want %q", addr, got, deps)
		}
	}
	if st := p.Stages[w("50")]; st.Timeout.String() != "1m0s" || st.Retry.Attempts != 3 || st.Key != "50" {
		t.Errorf("weight[50]: timeout %s, %d attempts, key %q; want the defaults and key 50", st.Timeout, st.Retry.Attempts, st.Key)
	}
	if st := p.Stages["after25"]; st.Timeout != 0 || st.Retry.Attempts != 1 {
		t.Errorf("after25: timeout %s, %d attempts; want its own: none, 1", st.Timeout, st.Retry.Attempts)
	}
	plan := p.Plan(context.Background(), Options{})
	var got []string
	for _, ps := range plan {
		if ps.Name == w("25") {
			got = append(ps.Settings, ps.Config[0].Text)
		}
	}
	want := []string{`each.key = "25"`, "sequential: after the instance before", "timeout = 1m0s per attempt (from defaults)",
		"retry = 3 attempts, exponential backoff from 1ms (from defaults)", "undo = built-in (step)", `value = "25:50"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan of weight[\"25\"]:\n%q\nwant\n%q", got, want)
	}

	out, l, _ := run(t, canary, Inputs{})
	if out.Result != events.Succeeded {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	if v := out.Stages["done"].Output.GetAttr("value").AsString(); v != "100:200,25:50,5:10,50:100" {
		t.Errorf("done saw %q", v)
	}
	if v := out.Stages["after25"].Output.GetAttr("value").AsString(); v != "25:50" {
		t.Errorf("after25 saw %q", v)
	}
	var weights []string
	for _, s := range l.ran {
		if strings.HasPrefix(s, "weight[") {
			weights = append(weights, s)
		}
	}
	if !reflect.DeepEqual(weights, []string{w("5"), w("25"), w("50"), w("100")}) {
		t.Errorf("instances ran in the order %q", weights)
	}
}

// TestForEachUndoPerInstance: a failing instance undoes the instances
// before it, newest first, each journaled under its address.
func TestForEachUndoPerInstance(t *testing.T) {
	src := strings.Replace(canary, "default = -1", "default = 50", 1)
	src = strings.Replace(src, "attempts = 3", "attempts = 1", 1)
	cj := &countingJournal{}
	out := runJournaled(t, src, cj)
	if out.Result != events.FailedUndone {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	w := func(k string) string { return Address("weight", k) }
	// weight["50"] recorded what it overwrote before failing: undone too.
	for addr, status := range map[string]events.Status{w("5"): events.StatusUndone, w("25"): events.StatusUndone, w("50"): events.StatusUndone, w("100"): events.StatusNotRun, "deploy": events.StatusUndone} {
		if got := out.Stages[addr].Status; got != status {
			t.Errorf("%s is %s; want %s", addr, got, status)
		}
	}
	all := strings.Join(cj.writes, "\n")
	i50, i25, i5 := strings.Index(all, `undo weight["50"] succeeded`), strings.Index(all, `undo weight["25"] succeeded`), strings.Index(all, `undo weight["5"] succeeded`)
	if i50 < 0 || i25 < 0 || i5 < 0 || i50 > i25 || i25 > i5 {
		t.Errorf("undo order in the journal (want weight[\"50\"], [\"25\"], [\"5\"]):\n%s", all)
	}
}

// TestForEachResume: a resumed run finds instances by address and runs
// only the ones not finished.
func TestForEachResume(t *testing.T) {
	w := func(k string) string { return Address("weight", k) }
	output := func(v string) []byte {
		b, err := ctyjson.Marshal(cty.ObjectVal(map[string]cty.Value{"value": cty.StringVal(v), "attempt": cty.NumberIntVal(1)}), cty.DynamicPseudoType)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	entries := []journal.Entry{
		{Kind: journal.KindStage, Stage: "deploy", Status: "started", Attempt: 1},
		{Kind: journal.KindStage, Stage: "deploy", Status: string(events.StatusSucceeded), Data: output("v2")},
		{Kind: journal.KindStage, Stage: w("5"), Status: "started", Attempt: 1},
		{Kind: journal.KindStage, Stage: w("5"), Status: string(events.StatusSucceeded), Data: output("5:10")},
	}
	out, l, _ := runWith(t, canary, Inputs{}, Options{Resume: entries})
	if out.Result != events.Succeeded {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	for _, s := range l.ran {
		if s == "deploy" || s == w("5") {
			t.Errorf("%s ran again", s)
		}
	}
	if v := out.Stages["done"].Output.GetAttr("value").AsString(); v != "100:200,25:50,5:10,50:100" {
		t.Errorf("done saw %q", v)
	}
}

// TestForEachCollections: maps key by key, sets by element; an empty
// collection is no instance and its dependants do not wait.
func TestForEachCollections(t *testing.T) {
	p, diags := load(t, newLog(), map[string]string{"p.hcl": `
pipeline "p" {}
variable "set" {
  type    = set(string)
  default = ["y", "x"]
}
stage "m" {
  for_each = { blue = "b", green = "g" }
  step { value = "${each.key}=${each.value}" }
}
stage "s" {
  for_each = var.set
  step { value = each.value }
}
stage "none" {
  for_each = []
  step {}
}
stage "after" {
  depends_on = [stage.none]
  step { value = length(stage.none) }
}
`}, Inputs{})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	want := []string{`m["blue"]`, `m["green"]`, `s["x"]`, `s["y"]`, "after"}
	if !reflect.DeepEqual(p.Order, want) || len(p.Stages["after"].Deps) != 0 {
		t.Fatalf("order %q, after waits for %q; want %q and nothing", p.Order, p.Stages["after"].Deps, want)
	}
}

// TestForEachUnknownInValidate: a for_each waiting for a variable validate
// let be unknown is checked once, as one stage.
func TestForEachUnknownInValidate(t *testing.T) {
	p, diags := load(t, newLog(), map[string]string{"p.hcl": `
pipeline "p" {}
variable "steps" { type = list(number) }
stage "weight" {
  for_each = var.steps
  step { value = "${each.value}" }
}
stage "b" {
  step { value = stage.weight["5"].output.value }
}
`}, Inputs{AllowMissing: true})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	if !reflect.DeepEqual(p.Order, []string{"weight", "b"}) {
		t.Fatalf("order %q", p.Order)
	}
}

func TestForEachDiagnostics(t *testing.T) {
	head := "pipeline \"p\" {}\nvariable \"secret\" {\n  sensitive = true\n  default = [\"a\"]\n}\n"
	for _, tc := range []struct {
		name, src string
		want      wantDiag
	}{
		{"for_each from a stage output", "stage \"a\" {\n  step {}\n}\nstage \"b\" {\n  for_each = [stage.a.output.value]\n  step {}\n}\n",
			wantDiag{summary: "Invalid for_each argument", detail: "not what a stage produced", line: 10, col: 15}},
		{"each outside for_each", "stage \"a\" {\n  step { value = each.key }\n}\n",
			wantDiag{summary: "each not allowed here", line: 7, col: 18}},
		{"each.other", "stage \"a\" {\n  for_each = [1]\n  step { value = each.index }\n}\n",
			wantDiag{summary: "Invalid each reference", line: 8, col: 18}},
		{"missing instance key", "stage \"a\" {\n  for_each = [1]\n  step {}\n}\nstage \"b\" {\n  step { value = stage.a.output.value }\n}\n",
			wantDiag{summary: "Missing stage instance key", detail: "stage.a[KEY].output", line: 11, col: 18}},
		{"unknown instance", "stage \"a\" {\n  for_each = [5, 25]\n  step {}\n}\nstage \"b\" {\n  depends_on = [stage.a[\"50\"]]\n  step {}\n}\n",
			wantDiag{summary: "undeclared stage instance", detail: `a["5"], a["25"]`, line: 11, col: 17}},
		{"instance of a stage without for_each", "stage \"a\" {\n  step {}\n}\nstage \"b\" {\n  depends_on = [stage.a[\"x\"]]\n  step {}\n}\n",
			wantDiag{summary: "Stage has no instances", line: 10, col: 17}},
		{"sensitive for_each", "stage \"a\" {\n  for_each = var.secret\n  step {}\n}\n",
			wantDiag{summary: "Invalid for_each argument", detail: "sensitive", line: 7, col: 14}},
		{"duplicate element", "stage \"a\" {\n  for_each = [5, 5]\n  step {}\n}\n",
			wantDiag{summary: "Invalid for_each argument", detail: `"5" appears twice`, line: 7, col: 14}},
		{"not a collection", "stage \"a\" {\n  for_each = 3\n  step {}\n}\n",
			wantDiag{summary: "Invalid for_each argument", detail: "not a number", line: 7, col: 14}},
		{"sequential without for_each", "stage \"a\" {\n  sequential = true\n  step {}\n}\n",
			wantDiag{summary: "sequential without for_each", line: 7, col: 3}},
		{"an error in every instance is said once", "stage \"a\" {\n  for_each = [1, 2, 3]\n  step { fail = \"x${each.key}\" }\n}\n",
			wantDiag{summary: "Incorrect attribute value type", line: 8, col: 17}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := load(t, newLog(), map[string]string{"a.hcl": head + tc.src}, Inputs{})
			var errs hcl.Diagnostics
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					errs = append(errs, d)
				}
			}
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%s", len(errs), dump(errs))
			}
			d, w := errs[0], tc.want
			if !strings.Contains(d.Summary, w.summary) || !strings.Contains(d.Detail, w.detail) {
				t.Errorf("%q / %q, want %q / %q", d.Summary, d.Detail, w.summary, w.detail)
			}
			if d.Subject == nil || filepath.Base(d.Subject.Filename) != "a.hcl" || d.Subject.Start.Line != w.line || d.Subject.Start.Column != w.col {
				t.Errorf("at %v, want a.hcl:%d:%d", d.Subject, w.line, w.col)
			}
		})
	}
}

// TestForEachGatedSteps: the canary's steps as two stages over the same
// weights, each gate waiting for its weight by each.key: with the weights
// sequential, the next weight waits for the previous gate.
func TestForEachGatedSteps(t *testing.T) {
	src := `
pipeline "p" { parallelism = 4 }
variable "weights" { default = [5, 25, 50] }
stage "weight" {
  for_each   = var.weights
  sequential = true
  step { value = each.key }
}
stage "verify" {
  for_each   = var.weights
  depends_on = [stage.weight[each.key]]
  step { value = "checked ${each.key}" }
}
stage "promote" {
  depends_on = [stage.verify]
  step {}
}
`
	out, l, _ := run(t, src, Inputs{})
	if out.Result != events.Succeeded {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	w := func(s, k string) string { return Address(s, k) }
	want := []string{w("weight", "5"), w("verify", "5"), w("weight", "25"), w("verify", "25"), w("weight", "50"), w("verify", "50"), "promote"}
	if !reflect.DeepEqual(l.ran, want) {
		t.Fatalf("ran %q; want %q", l.ran, want)
	}
	p, _ := load(t, newLog(), map[string]string{"p.hcl": src}, Inputs{})
	if got := p.Stages[w("weight", "25")].Deps; !reflect.DeepEqual(got, []string{w("weight", "5"), w("verify", "5")}) {
		t.Errorf("weight[25] waits for %q", got)
	}

	// A gate that also waits for the last weight closes a loop.
	_, diags := load(t, newLog(), map[string]string{"p.hcl": strings.Replace(src, "[stage.weight[each.key]]", `[stage.weight[each.key], stage.weight["50"]]`, 1)}, Inputs{})
	if !diags.HasErrors() || !strings.Contains(dump(diags), "instances depend on each other in a cycle") {
		t.Errorf("got %s", dump(diags))
	}
}
