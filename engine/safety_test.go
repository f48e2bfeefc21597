package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/steps"
)

// safeKind exercises the undo contract: it remembers what it "wrote" after
// the write (Env.Note), may claim to route traffic or to shrink on undo,
// reports drift, and checks the Config its undo is given.
type safeKind struct{ log *eventLog }

func (safeKind) Name() string { return "safe" }

// safeConfig is the block of a safeKind.
type safeConfig struct {
	Target string `hcl:"target"`
	Shrink bool   `hcl:"shrink"`
	Drift  bool   `hcl:"drift"`
	Fail   bool   `hcl:"fail"`
	// Release: its undo lifts a hold (steps.Releaser); UndoFail: its undo
	// fails (not drift).
	Release  bool   `hcl:"release"`
	UndoFail bool   `hcl:"undo_fail"`
	Output   string `hcl:"output"`
	// Drain: the stage moves traffic, and its undo too (Env.TrafficMoved).
	Drain time.Duration `hcl:"drain"`
}

func (safeKind) Spec() hcldec.Spec { return steps.SpecFor[safeConfig]() }
func (safeKind) Output() cty.Type  { return cty.Object(map[string]cty.Type{"output": cty.String}) }

func (k safeKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	var c safeConfig
	if _, err := steps.Decode(cfg, &c); err != nil {
		return cty.NilVal, err
	}
	if err := env.Record(map[string]any{"target": c.Target, "shrink": c.Shrink, "release": c.Release}); err != nil {
		return cty.NilVal, err
	}
	env.Remember(map[string]any{"wrote": c.Target})
	k.log.at(env.Stage)
	env.TrafficMoved(c.Drain)
	if c.Fail {
		return cty.NilVal, errors.New("gate failed")
	}
	return cty.ObjectVal(map[string]cty.Value{"output": cty.StringVal(c.Output)}), nil
}

func (k safeKind) UndoShrinks(records []json.RawMessage) bool {
	var r struct{ Shrink bool }
	return len(records) > 0 && json.Unmarshal(records[0], &r) == nil && r.Shrink
}

func (k safeKind) UndoReleases(records []json.RawMessage) bool {
	var r struct{ Release bool }
	return len(records) > 0 && json.Unmarshal(records[0], &r) == nil && r.Release
}

func (k safeKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	if len(records) != 2 || !strings.Contains(string(records[1]), "wrote") {
		return errors.New("undo did not get the remembered record: " + string(json.RawMessage(strings.Join(rawStrings(records), ","))))
	}
	var c safeConfig
	env.Configured(&c)
	if want := c.Target; !strings.Contains(string(records[0]), `"`+want+`"`) {
		return &steps.TargetError{Record: string(records[0]), Why: "not the stage's target " + want}
	}
	k.log.mu.Lock()
	k.log.undone = append(k.log.undone, env.Stage)
	k.log.mu.Unlock()
	k.log.at(env.Stage + " undo")
	env.TrafficMoved(c.Drain)
	if c.Drift && !env.Force {
		return &steps.DriftError{Changed: []string{"service/" + env.Stage + ": selector changed since this run set it"}}
	}
	if c.UndoFail {
		return errors.New("the API refused the restore")
	}
	return nil
}

func rawStrings(rs []json.RawMessage) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

// Undo runs compensations that take capacity away after the others, even
// when they are newer, so clients are back on the old version first.
func TestUndoShrinkingCompensationsGoLast(t *testing.T) {
	out, l, _ := run(t, `
pipeline "p" {}
stage "switch" {
  safe { target = "svc" }
}
stage "extra" {
  depends_on = [stage.switch]
  safe {
    target = "deploy"
    shrink = true
  }
}
stage "scale_up_old" {
  depends_on = [stage.extra]
  safe { target = "old" }
}
stage "gate" {
  depends_on = [stage.scale_up_old]
  safe {
    target = "gate"
    fail   = true
  }
}
`, Inputs{})
	if out.Result != events.FailedUndone {
		t.Fatalf("result %s: %v", out.Result, out.UndoPending)
	}
	want := []string{"gate", "scale_up_old", "switch", "extra"}
	if !reflect.DeepEqual(l.undone, want) {
		t.Fatalf("undo order %v, want %v", l.undone, want)
	}
}

// A compensation that lifts a hold on a controller (a paused rollout) runs
// after all others, the shrinking ones too (a deploy's undo of a template
// shrinks): the controller must see the old template before it may act.
func TestUndoReleasingCompensationsGoLast(t *testing.T) {
	out, l, _ := run(t, `
pipeline "p" {}
stage "deploy" {
  safe {
    target = "deploy"
    shrink = true
  }
}
stage "pause" {
  depends_on = [stage.deploy]
  safe {
    target  = "deploy"
    release = true
  }
}
stage "switch" {
  depends_on = [stage.pause]
  safe { target = "svc" }
}
stage "gate" {
  depends_on = [stage.switch]
  safe {
    target = "gate"
    fail   = true
  }
}
`, Inputs{})
	if out.Result != events.FailedUndone {
		t.Fatalf("result %s: %v", out.Result, out.UndoPending)
	}
	want := []string{"gate", "switch", "deploy", "pause"}
	if !reflect.DeepEqual(l.undone, want) {
		t.Fatalf("undo order %v, want %v", l.undone, want)
	}
}

// A hold is kept when a compensation before it failed: lifting it would let
// the controller act on what was not restored. Drift does not count: the
// object is someone else's then, as they left it.
func TestUndoKeepsTheHoldWhenAnEarlierUndoFailed(t *testing.T) {
	src := `
pipeline "p" {}
stage "deploy" {
  safe {
    target    = "deploy"
    shrink    = true
    undo_fail = %v
    drift     = %v
  }
}
stage "pause" {
  depends_on = [stage.deploy]
  safe {
    target  = "deploy"
    release = true
  }
}
stage "gate" {
  depends_on = [stage.pause]
  safe {
    target = "gate"
    fail   = true
  }
}
`
	out, l, sink := run(t, fmt.Sprintf(src, true, false), Inputs{})
	if out.Result != events.UndoIncomplete {
		t.Fatalf("result %s", out.Result)
	}
	if strings.Contains(strings.Join(l.undone, ","), "pause") {
		t.Fatalf("the hold was lifted after a failed undo: %v", l.undone)
	}
	if got := out.Stages["pause"].Status; got != events.StatusUndoFailed {
		t.Fatalf("pause: %s", got)
	}
	if ty := sink.types("pause"); len(ty) < 2 || ty[len(ty)-2] != events.UndoStarted || ty[len(ty)-1] != events.UndoFailed {
		t.Fatalf("pause events %v", ty)
	}
	if p := strings.Join(out.UndoPending, "\n"); !strings.Contains(p, "pause: its hold (spec.paused) is kept: the undo of deploy failed") {
		t.Fatalf("pending %v", out.UndoPending)
	}

	out, l, _ = run(t, fmt.Sprintf(src, false, true), Inputs{})
	if got := out.Stages["pause"].Status; got != events.StatusUndone || l.undone[len(l.undone)-1] != "pause" {
		t.Fatalf("after drift: pause %s, undone %v", got, l.undone)
	}
}

// Drift reported by a kind leaves the stage "left as is", is not retried,
// and ends the run with exit 3; Force reaches the kind.
func TestUndoDriftIsLeftAsIsAndExit3(t *testing.T) {
	src := `
pipeline "p" {}
stage "switch" {
  safe {
    target = "svc"
    drift  = true
  }
}
stage "gate" {
  depends_on = [stage.switch]
  plain {}
}
stage "boom" {
  depends_on = [stage.gate]
  safe {
    target = "x"
    fail   = true
  }
}
`
	out, l, sink := run(t, src, Inputs{})
	if out.Result != events.UndoIncomplete || out.ExitCode() != 3 {
		t.Fatalf("result %s exit %d", out.Result, out.ExitCode())
	}
	if got := out.Stages["switch"].Status; got != events.StatusLeftAsIs {
		t.Fatalf("switch: %s", got)
	}
	if n := strings.Count(strings.Join(l.undone, ","), "switch"); n != 1 {
		t.Fatalf("drift was retried: switch undone %d times", n)
	}
	if len(out.UndoPending) != 1 || !strings.Contains(out.UndoPending[0], "selector changed since this run set it") {
		t.Fatalf("pending %v", out.UndoPending)
	}
	if ty := sink.types("switch"); ty[len(ty)-1] != events.UndoFailed {
		t.Fatalf("switch events %v", ty)
	}
	forced, _, _ := runWith(t, src, Inputs{}, Options{Force: true})
	if forced.Result != events.FailedUndone {
		t.Fatalf("with Force: %s %v", forced.Result, forced.UndoPending)
	}
}

// The engine hands an undo the stage's config evaluated as the undo sees
// it; a record naming another target is refused by the kind and reported.
func TestUndoRefusesARecordForAnotherTarget(t *testing.T) {
	l := newLog()
	p, diags := load(t, l, map[string]string{"p.hcl": `
pipeline "p" {}
stage "switch" {
  safe { target = "svc" }
}
`}, Inputs{})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	forged := []journal.Entry{
		{Kind: journal.KindStage, Stage: "switch", Status: string(events.StatusSucceeded), Data: json.RawMessage(`{"output":""}`)},
		{Kind: journal.KindRecord, Stage: "switch", Data: json.RawMessage(`{"target":"unrelated"}`)},
		{Kind: journal.KindRecord, Stage: "switch", Data: json.RawMessage(`{"wrote":"unrelated"}`)},
	}
	out, err := p.Undo(context.Background(), Options{RunID: "r"}, forged)
	if err != nil {
		t.Fatal(err)
	}
	if out.Result != events.UndoIncomplete || len(l.undone) != 0 {
		t.Fatalf("result %s, undone %v", out.Result, l.undone)
	}
	if !strings.Contains(out.UndoPending[0], "refused an undo record") {
		t.Fatalf("pending %v", out.UndoPending)
	}
}

// fakeLock is a held lock a test can take away.
type fakeLock struct {
	lost     chan struct{}
	once     sync.Once
	released bool
}

func (f *fakeLock) Lost() <-chan struct{} { return f.lost }
func (f *fakeLock) Err() error            { return errors.New("the Lease was deleted") }
func (f *fakeLock) Release(context.Context) error {
	f.released = true
	return nil
}
func (f *fakeLock) lose() { f.once.Do(func() { close(f.lost) }) }

// A run that lost its lock stops: no new stage starts, nothing is undone
// (someone else may hold the lock and be undoing), exit 3.
func TestLockLostStopsWithoutUndo(t *testing.T) {
	fl := &fakeLock{lost: make(chan struct{})}
	// never closed: the stage waits until the run is cancelled
	lookGates.Store("lose", make(chan struct{}))
	cj := &countingJournal{}
	j, err := journal.NewMemoryStore().Create(context.Background(), journal.Meta{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	cj.Journal = j
	cj.onWrite = func(entries []journal.Entry) {
		for _, e := range entries {
			if e.Kind == journal.KindRecord && e.Stage == "switch" {
				go fl.lose()
			}
		}
	}
	out, l, _ := runWith(t, `
pipeline "p" {}
stage "switch" {
  safe { target = "svc" }
}
stage "wait" {
  depends_on = [stage.switch]
  look { until = "lose" }
}
stage "after" {
  depends_on = [stage.wait]
  safe { target = "late" }
}
`, Inputs{}, Options{Lock: fl, Journal: cj})
	if out.Result != events.LockLost || out.ExitCode() != 3 {
		t.Fatalf("result %s exit %d (%v)", out.Result, out.ExitCode(), out.Err)
	}
	if len(l.undone) != 0 {
		t.Fatalf("undid %v after losing the lock", l.undone)
	}
	if got := out.Stages["after"].Status; got != events.StatusNotRun {
		t.Fatalf("after: %s", got)
	}
	// The undo it suggests names the pipeline's directory: runnable as
	// printed.
	if !regexp.MustCompile("run `cutover undo test /[^ `]+` when it is safe").MatchString(out.Err.Error()) || !strings.Contains(out.Err.Error(), "Lease was deleted") {
		t.Fatalf("error %v", out.Err)
	}
}

// A run whose undo loses its lock stops undoing at once, as a run stops:
// the stage being undone is cut short, the stages after it are left, each
// named, and the result is lock lost (exit 3), not "failed, undone".
func TestLockLostStopsTheUndo(t *testing.T) {
	fl := &fakeLock{lost: make(chan struct{})}
	l := newLog()
	p, diags := load(t, l, map[string]string{"p.hcl": `
pipeline "p" { parallelism = 1 }
stage "first" {
  step { value = "1" }
}
stage "blocked" {
  depends_on = [stage.first]
  step {
    value      = "2"
    block_undo = true
  }
}
stage "gate" {
  depends_on = [stage.blocked]
  step {
    value = "3"
    fail  = 1
  }
}
`}, Inputs{})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	go func() {
		<-l.undoBlocked // blocked's undo is under way
		fl.lose()
	}()
	out, err := p.Run(context.Background(), Options{Lock: fl, Sink: &collected{}, RunID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result != events.LockLost || out.ExitCode() != 3 {
		t.Fatalf("result %s exit %d (%v)", out.Result, out.ExitCode(), out.Err)
	}
	if !slices.Equal(l.undone, []string{"gate"}) {
		t.Fatalf("undone %v; want gate alone (first is left once the lock is lost)", l.undone)
	}
	want := []string{"blocked: not undone: the undo stopped when the lock was lost", "first: not undone: the undo stopped when the lock was lost"}
	if !slices.Equal(out.UndoPending, want) {
		t.Fatalf("pending %q; want %q", out.UndoPending, want)
	}
	if e := out.Err.Error(); !strings.Contains(e, "gate failed on attempt 1") || !strings.Contains(e, "lock lost: the Lease was deleted; the undo stopped") {
		t.Fatalf("error %v", out.Err)
	}
}

// Stored outputs never hold a secret, even encoded, and a huge output is
// replaced by a marker instead of blocking the journal.
func TestStoredOutputsAreRedactedAndBounded(t *testing.T) {
	cj := &countingJournal{}
	j, err := journal.NewMemoryStore().Create(context.Background(), journal.Meta{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	cj.Journal = j
	big := strings.Repeat("x", maxStoredOutput+1)
	out, _, _ := runWith(t, `
variable "token" {
  sensitive = true
}
variable "big" {}
pipeline "p" {}
stage "echo" {
  safe {
    target = "t"
    output = "token=${var.token} b64=${base64encode(var.token)}"
  }
}
stage "huge" {
  safe {
    target = "t"
    output = var.big
  }
}
`, Inputs{Vars: []string{"token=hunter2-s3cret", "big=" + big}}, Options{Journal: cj})
	if out.Result != events.Succeeded {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	entries, err := j.Entries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, e := range entries {
		all.Write(e.Data)
		all.WriteString(e.Message)
		if e.Stage == "huge" && e.Status == string(events.StatusSucceeded) && (len(e.Data) > maxStoredOutput || !strings.Contains(string(e.Data), "not journaled")) {
			t.Fatalf("huge output stored as %d bytes: %.80s", len(e.Data), e.Data)
		}
	}
	for _, leak := range []string{"hunter2-s3cret", "aHVudGVyMi1zM2NyZXQ"} {
		if strings.Contains(all.String(), leak) {
			t.Fatalf("journal holds %q", leak)
		}
	}
}

func TestLockSetting(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`pipeline "shop" {}`, "shop"},
		{`pipeline "shop" { lock = "releases" }`, "releases"},
		{`pipeline "shop" { lock = true }`, "shop"},
		{`pipeline "shop" { lock = false }`, ""},
	} {
		p, diags := load(t, newLog(), map[string]string{"p.hcl": tc.src + "\nstage \"a\" {\n  plain {}\n}\n"}, Inputs{})
		if diags.HasErrors() {
			t.Fatal(dump(diags))
		}
		if p.Lock != tc.want {
			t.Errorf("%s: lock %q, want %q", tc.src, p.Lock, tc.want)
		}
	}
	_, diags := load(t, newLog(), map[string]string{"p.hcl": "pipeline \"shop\" { lock = \"\" }\nstage \"a\" {\n  plain {}\n}\n"}, Inputs{})
	if !diags.HasErrors() || !strings.Contains(diags[0].Detail, "lock = false") {
		t.Fatalf("empty lock name: %v", diags)
	}
}

// A stage that never started gets a terminal event saying why, so no
// report leaves it pending.
func TestStagesNeverStartedAreReportedSkipped(t *testing.T) {
	out, _, sink := run(t, `
pipeline "p" {}
stage "boom" {
  safe {
    target = "x"
    fail   = true
  }
}
stage "after" {
  depends_on = [stage.boom]
  plain {}
}
stage "later" {
  depends_on = [stage.after]
  plain {}
}
`, Inputs{})
	if out.Stages["later"].Status != events.StatusNotRun {
		t.Fatalf("later: %s", out.Stages["later"].Status)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	got := map[string]string{}
	for _, e := range sink.ev {
		if e.Type == events.StageSkipped {
			got[e.Stage] = e.Message
		}
	}
	if got["after"] != "dependency boom failed" || got["later"] != "dependency after did not run" {
		t.Fatalf("skipped events %v", got)
	}
}
