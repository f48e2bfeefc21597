package engine

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
)

const fleetPipeline = `
pipeline "p" {}
variable "fail" {
  type    = string
  default = ""
}
variable "max_failures" {
  type    = number
  default = 0
}
target "canary" {
  labels = { tier = "canary" }
}
target "eu-1" {}
target "us-1" {}
wave "canary" { targets = ["canary"] }
wave "rest" {
  targets      = ["eu-1", "us-1"]
  parallelism  = 1
  max_failures = var.max_failures
}
stage "deploy" {
  step { value = "${target.name}:${lookup(target.labels, "tier", "-")}" }
}
stage "verify" {
  depends_on = [stage.deploy]
  step {
    value = stage.deploy.output.value
    fail  = target.name == var.fail ? 99 : 0
  }
}
output "canary" { value = stage.verify["canary"].output.value }
`

// runFleet runs fleetPipeline with memory journals, each target's share
// in the namespace of its name (which testKind's undo log shows).
func runFleet(t *testing.T, vars []string) (*Outcome, *eventLog, map[string]journal.Journal, []events.Event) {
	t.Helper()
	l := newLog()
	p, diags := load(t, l, map[string]string{"p.hcl": fleetPipeline}, Inputs{Vars: vars})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	var evs []events.Event
	fo := FleetOptions{RunID: "r1", Shares: map[string]Options{}, Sink: events.SinkFunc(func(e events.Event) { evs = append(evs, e) })}
	js := map[string]journal.Journal{}
	store := journal.NewMemoryStore()
	for _, name := range p.TargetNames() {
		j, err := store.Create(context.Background(), journal.Meta{RunID: "r1-" + name, Pipeline: "p", Target: name})
		if err != nil {
			t.Fatal(err)
		}
		js[name] = j
		fo.Shares[name] = Options{Journal: j, Namespace: name}
	}
	out, err := p.RunFleet(context.Background(), fo)
	if err != nil {
		t.Fatal(err)
	}
	return out, l, js, evs
}

// TestFleetWaves: the canary wave runs before the rest, every stage once
// per target with target bound, outputs by target, each journal its own.
func TestFleetWaves(t *testing.T) {
	out, l, js, evs := runFleet(t, nil)
	if out.Result != events.Succeeded {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	want := []string{"deploy", "verify", "deploy", "verify", "deploy", "verify"} // parallelism 1: eu-1 then us-1
	if !reflect.DeepEqual(l.ran, want) {
		t.Errorf("ran %q, want %q", l.ran, want)
	}
	if got := out.Outputs["canary"].AsString(); got != "canary:canary" {
		t.Errorf("output canary = %q", got)
	}
	if got := out.Stages[Address("deploy", "us-1")].Output.GetAttr("value").AsString(); got != "us-1:-" {
		t.Errorf("deploy[us-1] output %q", got)
	}
	var started []string
	for _, e := range evs {
		if e.Type == events.StageStarted {
			started = append(started, e.Stage)
		}
		if e.Type == events.RunStarted && len(e.Stages) != 6 {
			t.Errorf("RunStarted lists %d stages, want 6", len(e.Stages))
		}
	}
	if started[0] != `deploy["canary"]` || started[1] != `verify["canary"]` {
		t.Errorf("the canary wave did not run first: %q", started)
	}
	for name, j := range js {
		es, _ := j.Entries(context.Background())
		last := es[len(es)-1]
		if last.Kind != journal.KindResult || last.Status != string(events.Succeeded) {
			t.Errorf("journal of %s ends with %+v", name, last)
		}
		for _, e := range es {
			if strings.Contains(e.Stage, "[") {
				t.Errorf("journal of %s names a stage by address: %q (a target's journal stands alone)", name, e.Stage)
			}
		}
	}
}

// TestFleetGateFailsInWave2: a gate failing in wave 2 undoes wave 2, then
// wave 1, target by target, each target's stages newest first.
func TestFleetGateFailsInWave2(t *testing.T) {
	out, l, js, _ := runFleet(t, []string{"fail=us-1"})
	if out.Result != events.FailedUndone {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	// us-1's verify failed after it recorded, so it is undone too.
	want := []string{"us-1/verify", "us-1/deploy", "eu-1/verify", "eu-1/deploy", "canary/verify", "canary/deploy"}
	if !reflect.DeepEqual(l.undone, want) {
		t.Errorf("undone %q, want %q", l.undone, want)
	}
	if !strings.Contains(out.Err.Error(), "us-1") {
		t.Errorf("error does not name the target: %v", out.Err)
	}
	for name, j := range js {
		es, _ := j.Entries(context.Background())
		if last := es[len(es)-1]; last.Status != string(events.FailedUndone) {
			t.Errorf("journal of %s ends %q", name, last.Status)
		}
	}
}

// TestFleetMaxFailures: within max_failures the failed target is undone
// on its own and named; the others stay released.
func TestFleetMaxFailures(t *testing.T) {
	out, l, _, evs := runFleet(t, []string{"fail=us-1", "max_failures=1"})
	if out.Result != events.Succeeded {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	if want := []string{"us-1/verify", "us-1/deploy"}; !reflect.DeepEqual(l.undone, want) {
		t.Errorf("undone %q, want %q", l.undone, want)
	}
	if len(out.Tolerated) != 1 || !strings.HasPrefix(out.Tolerated[0], "us-1: ") {
		t.Errorf("tolerated %q", out.Tolerated)
	}
	last := evs[len(evs)-1]
	if last.Type != events.RunFinished || !strings.Contains(last.Message, "us-1") {
		t.Errorf("the report does not name us-1: %+v", last)
	}
}

// TestFleetUndo: UndoFleet puts back every target from its journal, the
// last wave first.
func TestFleetUndo(t *testing.T) {
	_, _, js, _ := runFleet(t, nil)
	l := newLog()
	p, diags := load(t, l, map[string]string{"p.hcl": fleetPipeline}, Inputs{})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	var evs []events.Event
	fo := FleetOptions{RunID: "r1", Shares: map[string]Options{}, Sink: events.SinkFunc(func(e events.Event) { evs = append(evs, e) })}
	for name, j := range js {
		es, _ := j.Entries(context.Background())
		fo.Shares[name] = Options{Journal: j, Namespace: name, Resume: es}
	}
	out, _ := p.UndoFleet(context.Background(), fo)
	if out.Result != events.Undone {
		t.Fatalf("result %s", out.Result)
	}
	want := []string{"us-1/verify", "us-1/deploy", "eu-1/verify", "eu-1/deploy", "canary/verify", "canary/deploy"}
	if !reflect.DeepEqual(l.undone, want) {
		t.Errorf("undone %q, want %q", l.undone, want)
	}
	// One run_started (an undo's), every target's stages with the status
	// their journal gives, so a report reads as a single cluster's undo.
	first := evs[0]
	if first.Type != events.RunStarted || first.Message != events.UndoRun || len(first.Stages) != 6 {
		t.Fatalf("first event %+v, want an undo's run_started listing 6 stages", first)
	}
	for _, st := range first.Stages {
		if st.Status != events.StatusSucceeded {
			t.Errorf("stage %s listed %q, want succeeded (its journal's)", st.Name, st.Status)
		}
	}
	for _, e := range evs[1:] {
		if e.Type == events.RunStarted {
			t.Errorf("a second run_started: %+v", e)
		}
	}
}

// TestFleetWaveEvents: each wave says when it starts and ends, with its
// targets; the wave that fails says which target failed.
func TestFleetWaveEvents(t *testing.T) {
	_, _, _, evs := runFleet(t, []string{"fail=us-1"})
	var got []string
	for _, e := range evs {
		switch e.Type {
		case events.WaveStarted, events.WaveFinished:
			got = append(got, string(e.Type)+" "+e.Wave+" "+strings.Join(e.Targets, ",")+" "+string(e.Result))
			if e.Type == events.WaveFinished && e.Wave == "rest" && !strings.Contains(e.Error, "1 target failed: us-1: ") {
				t.Errorf("wave rest ended %q, want us-1 named", e.Error)
			}
		case events.StageStarted:
			got = append(got, e.Stage)
		}
	}
	want := []string{
		"wave_started canary canary ", `deploy["canary"]`, `verify["canary"]`, "wave_finished canary canary succeeded",
		"wave_started rest eu-1,us-1 ", `deploy["eu-1"]`, `verify["eu-1"]`, `deploy["us-1"]`, `verify["us-1"]`, "wave_finished rest eu-1,us-1 failed",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events\n%q\nwant\n%q", got, want)
	}
}
