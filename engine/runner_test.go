package engine

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/steps"
)

type collected struct {
	mu sync.Mutex
	ev []events.Event
}

func (c *collected) Emit(e events.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ev = append(c.ev, e)
}

func (c *collected) types(stage string) []events.Type {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []events.Type
	for _, e := range c.ev {
		if e.Stage == stage {
			out = append(out, e.Type)
		}
	}
	return out
}

func run(t *testing.T, src string, in Inputs) (*Outcome, *eventLog, *collected) {
	t.Helper()
	return runWith(t, src, in, Options{})
}

// runWith runs src with opts (RunID and Sink filled in).
func runWith(t *testing.T, src string, in Inputs, opts Options) (*Outcome, *eventLog, *collected) {
	t.Helper()
	l := newLog()
	p, diags := load(t, l, map[string]string{"p.hcl": src}, in)
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	sink := &collected{}
	opts.Sink, opts.RunID = sink, "test"
	out, err := p.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return out, l, sink
}

func TestRunOrderAndDataFlow(t *testing.T) {
	out, l, _ := run(t, `
pipeline "p" { parallelism = 1 }
stage "c" {
  step { value = "${stage.b.output.value}+c" }
}
stage "b" {
  step { value = "${stage.a.output.value}+b" }
}
stage "a" {
  step { value = "a" }
}
output "final" { value = stage.c.output.value }
`, Inputs{})
	if out.Result != events.Succeeded {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	if !reflect.DeepEqual(l.ran, []string{"a", "b", "c"}) {
		t.Fatalf("ran %v", l.ran)
	}
	if got := out.Outputs["final"].AsString(); got != "a+b+c" {
		t.Fatalf("output %q", got)
	}
}

func TestParallelismBound(t *testing.T) {
	var b strings.Builder
	b.WriteString("pipeline \"p\" { parallelism = 3 }\n")
	for i := 0; i < 12; i++ {
		b.WriteString("stage \"s" + string(rune('a'+i)) + "\" {\n  step { sleep = \"20ms\" }\n}\n")
	}
	out, l, _ := run(t, b.String(), Inputs{})
	if out.Result != events.Succeeded {
		t.Fatal(out.Err)
	}
	if p := l.peak.Load(); p != 3 {
		t.Fatalf("peak in flight %d, want exactly the bound 3 (12 independent stages)", p)
	}
}

func TestRetryWithBackoff(t *testing.T) {
	out, l, sink := run(t, `
pipeline "p" {}
stage "flaky" {
  retry {
    attempts = 4
    backoff  = "exponential"
    delay    = "20ms"
  }
  step {
    fail      = 2
    retryable = true
  }
}
`, Inputs{})
	if out.Result != events.Succeeded {
		t.Fatal(out.Err)
	}
	if l.attempts["flaky"] != 3 {
		t.Fatalf("attempts %d, want 3", l.attempts["flaky"])
	}
	ts := l.times["flaky"]
	// Exponential from 20ms: the second gap is about twice the first.
	if g1, g2 := ts[1].Sub(ts[0]), ts[2].Sub(ts[1]); g1 < 20*time.Millisecond || g2 < 40*time.Millisecond {
		t.Fatalf("gaps %v, %v: backoff not applied", g1, g2)
	}
	retries := 0
	for _, e := range sink.ev {
		if e.Type == events.StageRetrying {
			retries++
			if e.Delay <= 0 || !strings.Contains(e.Error, "failed on attempt") {
				t.Errorf("retrying event without delay or error: %+v", e)
			}
		}
	}
	if retries != 2 {
		t.Fatalf("%d retrying events, want 2", retries)
	}
}

func TestNonRetryableErrorIsNotRetried(t *testing.T) {
	out, l, _ := run(t, `
pipeline "p" {}
stage "a" {
  retry { attempts = 5 }
  step { fail = 1 }
}
`, Inputs{})
	if out.Result != events.FailedUndone || l.attempts["a"] != 1 {
		t.Fatalf("result %s after %d attempts", out.Result, l.attempts["a"])
	}
}

func TestTimeoutPerAttemptIsRetried(t *testing.T) {
	out, l, _ := run(t, `
pipeline "p" {}
stage "slow" {
  timeout = "30ms"
  retry {
    attempts = 2
    delay = "1ms"
  }
  step { block = true }
}
`, Inputs{})
	if out.Result != events.FailedUndone {
		t.Fatalf("result %s", out.Result)
	}
	if l.attempts["slow"] != 2 || !strings.Contains(out.Err.Error(), "timed out after 30ms") {
		t.Fatalf("attempts %d, err %v", l.attempts["slow"], out.Err)
	}
}

// A timed-out wait for a rollout is not retried (another attempt would wait
// for the same pods) unless the retry block says timeouts = true.
func TestTimeoutOfAStuckWaitIsRetriedOnlyWhenAsked(t *testing.T) {
	for _, c := range []struct {
		timeouts string
		attempts int
		says     string
	}{
		{"", 1, "not retried: another attempt would wait for the same rollout"},
		{"timeouts = false", 1, "retry { timeouts = true } retries it"},
		{"timeouts = true", 2, "timed out after 30ms"},
	} {
		out, l, _ := run(t, `
pipeline "p" {}
stage "rollout" {
  timeout = "30ms"
  retry {
    attempts = 2
    delay = "1ms"
    `+c.timeouts+`
  }
  step { block_stuck = true }
}
`, Inputs{})
		if out.Result != events.FailedUndone || l.attempts["rollout"] != c.attempts || !strings.Contains(out.Err.Error(), c.says) {
			t.Errorf("%q: result %s after %d attempts (want %d), err %v (want it to say %q)", c.timeouts, out.Result, l.attempts["rollout"], c.attempts, out.Err, c.says)
		}
	}
}

func TestFailureUndoesInReverseCompletionOrderAndCancelsInFlight(t *testing.T) {
	out, l, sink := run(t, `
pipeline "p" { parallelism = 4 }
stage "first" {
  step {}
}
stage "second" {
  depends_on = [stage.first]
  step {}
}
stage "nothing" {
  depends_on = [stage.first]
  undo {}
  step {}
}
stage "stuck" {
  depends_on = [stage.second, stage.nothing]
  step { block = true }
}
stage "boom" {
  depends_on = [stage.second, stage.nothing]
  step {
    sleep = "30ms"
    fail  = 1
  }
}
stage "never" {
  depends_on = [stage.boom]
  step {}
}
`, Inputs{})
	if out.Result != events.FailedUndone {
		t.Fatalf("result %s", out.Result)
	}
	if got := out.Stages["stuck"].Status; got != events.StatusUndone {
		t.Errorf("stuck: %s, want undone after cancellation (it captured a record)", got)
	}
	if got := out.Stages["never"].Status; got != events.StatusNotRun {
		t.Errorf("never: %s", got)
	}
	if got := out.Stages["nothing"].Status; got != events.StatusSucceeded {
		t.Errorf("nothing (undo {}) was touched: %s", got)
	}
	// boom fails after stuck is in flight; stuck is cancelled after boom
	// failed, so it completes last and is undone first.
	want := []string{"stuck", "boom", "second", "first"}
	if !reflect.DeepEqual(l.undone, want) {
		t.Fatalf("undo order %v, want %v", l.undone, want)
	}
	if types := sink.types("stuck"); types[len(types)-1] != events.UndoSucceeded {
		t.Fatalf("stuck events %v", types)
	}
}

// A sibling's failure cancels a stage in flight whose step then fails with
// a retryable error (a network call cut short): it is cancelled, and never
// said to be retrying first.
func TestCancelledSiblingIsNotReportedRetrying(t *testing.T) {
	out, _, sink := run(t, `
pipeline "p" {}
stage "call" {
  retry { attempts = 5 }
  step { block_retryable = true }
}
stage "boom" {
  step {
    sleep = "30ms"
    fail  = 1
  }
}
`, Inputs{})
	if out.Result != events.FailedUndone {
		t.Fatalf("result %s", out.Result)
	}
	types := sink.types("call")
	want := []events.Type{events.StageStarted, events.StageCancelled}
	if len(types) < 2 || !reflect.DeepEqual(types[:2], want) {
		t.Fatalf("call events %v, want %v first", types, want)
	}
	for _, typ := range types {
		if typ == events.StageRetrying {
			t.Fatalf("call events %v: a cancelled stage is not retrying", types)
		}
	}
}

func TestWhenFalseSkipsAndDependantsSeeNull(t *testing.T) {
	out, l, sink := run(t, `
pipeline "p" {}
variable "enabled" {
  type = bool
  default = false
}
stage "optional" {
  when = var.enabled
  step { value = "x" }
}
stage "after" {
  step { value = stage.optional.status == "skipped" && stage.optional.output == null ? "saw skip" : "ran" }
}
`, Inputs{})
	if out.Result != events.Succeeded {
		t.Fatal(out.Err)
	}
	if !reflect.DeepEqual(l.ran, []string{"after"}) {
		t.Fatalf("ran %v", l.ran)
	}
	if got := out.Stages["after"].Output.GetAttr("value").AsString(); got != "saw skip" {
		t.Fatalf("after saw %q", got)
	}
	if ty := sink.types("optional"); !reflect.DeepEqual(ty, []events.Type{events.StageSkipped}) {
		t.Fatalf("optional events %v", ty)
	}
}

func TestCancellationUndoesAndReportsInterrupted(t *testing.T) {
	l := newLog()
	p, diags := load(t, l, map[string]string{"p.hcl": `
pipeline "p" {}
stage "done" {
  step {}
}
stage "waiting" {
  depends_on = [stage.done]
  step { block = true }
}
`}, Inputs{})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	ctx, cancel := context.WithCancel(context.Background())
	sink := events.SinkFunc(func(e events.Event) {
		if e.Type == events.StageStarted && e.Stage == "waiting" {
			cancel()
		}
	})
	out, err := p.Run(ctx, Options{Sink: sink, Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result != events.Interrupted {
		t.Fatalf("result %s", out.Result)
	}
	if !reflect.DeepEqual(l.undone, []string{"waiting", "done"}) {
		t.Fatalf("undone %v", l.undone)
	}
}

// A signal that arrives while a failed run is being undone bounds the undo
// by --grace too: an undo waiting on something that cannot finish ends.
func TestSignalDuringUndoOfAFailedRunIsBoundedByGrace(t *testing.T) {
	l := newLog()
	p, diags := load(t, l, map[string]string{"p.hcl": `
pipeline "p" {}
stage "deploy" {
  step { block_undo = true }
}
stage "gate" {
  depends_on = [stage.deploy]
  step { fail = 1 }
}
`}, Inputs{})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan *Outcome, 1)
	go func() {
		out, err := p.Run(ctx, Options{Grace: 50 * time.Millisecond})
		if err != nil {
			t.Error(err)
		}
		done <- out
	}()
	select {
	case <-l.undoBlocked:
	case <-time.After(30 * time.Second):
		t.Fatal("the undo of deploy never started")
	}
	cancel() // the signal, while deploy's undo waits
	select {
	case out := <-done:
		if out.Result != events.UndoIncomplete || len(out.UndoPending) != 1 || !strings.HasPrefix(out.UndoPending[0], "deploy") {
			t.Fatalf("result %s, pending %v", out.Result, out.UndoPending)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the undo went on 30 s after the signal with a grace of 50ms")
	}
}

func TestSensitiveValuesAreRedactedInEvents(t *testing.T) {
	_, _, sink := run(t, `
pipeline "p" {}
variable "token" {
  sensitive = true
  default = "s3cr3t-value"
}
stage "leak" {
  step {
    value = "Bearer ${var.token}"
    fail  = 1
  }
}
`, Inputs{})
	for _, e := range sink.ev {
		b, _ := e.MarshalJSON()
		if strings.Contains(string(b), "s3cr3t-value") {
			t.Fatalf("secret in event: %s", b)
		}
	}
}

func BenchmarkEngineOverhead10000(b *testing.B) {
	var src strings.Builder
	src.WriteString("pipeline \"p\" { parallelism = 8 }\n")
	for i := 0; i < 10000; i++ {
		src.WriteString("stage \"s" + itoa(i) + "\" {\n")
		if i > 0 {
			src.WriteString("  depends_on = [stage.s" + itoa(i/2) + "]\n")
		}
		src.WriteString("  plain {}\n}\n")
	}
	dir := b.TempDir()
	writeFile(b, dir, "p.hcl", src.String())
	reg := testRegistry(newLog())
	p := prepareDir(b, dir, reg)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := p.Run(context.Background(), Options{})
		if err != nil || out.Result != events.Succeeded {
			b.Fatal(err, out.Err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000/1e6, "ms/stage")
}

func TestPlanShowsAnalysisReferences(t *testing.T) {
	l := newLog()
	reg := testRegistry(l)
	reg.SetAnalysisSpec(&hcldec.ObjectSpec{"interval": &hcldec.AttrSpec{Name: "interval", Type: cty.String}})
	reg.Register(refKind{})
	dir := t.TempDir()
	writeFile(t, dir, "p.hcl", `
pipeline "p" {}
analysis "healthy" { interval = "1s" }
stage "check" {
  ref { analysis = analysis.healthy }
}
`)
	p := prepareDir(t, dir, reg)
	plan := p.Plan(context.Background(), Options{})
	if got := plan[0].Config[0].Text; got != "analysis = analysis.healthy" {
		t.Fatalf("plan line %q", got)
	}
	// As data, the reference is its name (-o json's step).
	if a := plan[0].Step.Attributes[0]; !a.Known || string(a.Value) != `"analysis.healthy"` {
		t.Fatalf("plan attribute %+v", a)
	}
}

// refKind takes an analysis reference, as verify does.
type refKind struct{ plainKind }

func (refKind) Name() string { return "ref" }
func (refKind) Spec() hcldec.Spec {
	return &hcldec.ObjectSpec{"analysis": &hcldec.AttrSpec{Name: "analysis", Type: steps.AnalysisType}}
}

func TestResumeReusesFinishedStagesAndReportsThem(t *testing.T) {
	// The journal holds outputs with their type, as the runner writes them.
	data, err := ctyjson.Marshal(cty.ObjectVal(map[string]cty.Value{"value": cty.StringVal("from-journal")}), cty.DynamicPseudoType)
	if err != nil {
		t.Fatal(err)
	}
	out, l, sink := runWith(t, `
pipeline "p" { parallelism = 1 }
stage "a" {
  step { value = "a" }
}
stage "b" {
  step { value = "${stage.a.output.value}+b" }
}
stage "c" {
  depends_on = [stage.b]
  when       = false
  step { value = "c" }
}
output "final" { value = stage.b.output.value }
`, Inputs{}, Options{Resume: []journal.Entry{
		{Kind: journal.KindStage, Stage: "a", Status: "started", Attempt: 2},
		{Kind: journal.KindStage, Stage: "a", Status: string(events.StatusSucceeded), Attempt: 2, Data: data},
		{Kind: journal.KindStage, Stage: "b", Status: "started", Attempt: 1},
	}})
	if out.Result != events.Succeeded || !reflect.DeepEqual(l.ran, []string{"b"}) {
		t.Fatalf("result %s (%v), ran %v; want succeeded, only b run again", out.Result, out.Err, l.ran)
	}
	if got := out.Outputs["final"].AsString(); got != "from-journal+b" {
		t.Fatalf("output %q; want a's journaled output reused", got)
	}
	if got := sink.types("a"); !reflect.DeepEqual(got, []events.Type{events.StageSucceeded}) {
		t.Fatalf("events of a: %v; want one stage_succeeded", got)
	}
	for _, e := range sink.ev {
		if e.Stage == "a" && (e.Message != EarlierAttempt || e.Attempt != 2 || string(e.Output) != `{"value":"from-journal"}`) {
			t.Fatalf("a reported as %+v; want the earlier attempt's result", e)
		}
	}
}
