package analysis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// script returns a measure function that plays phases in order; it fails
// the test when the gate asks for more than the script holds, which is how
// the table proves that a gate stops early.
func script(t *testing.T, phases string) func(context.Context) measurement {
	i := 0
	return func(context.Context) measurement {
		if i >= len(phases) {
			t.Fatalf("gate asked for measurement %d; the script has only %q", i+1, phases)
		}
		p := map[byte]Phase{'S': Successful, 'F': Failed, 'I': Inconclusive, 'E': Error}[phases[i]]
		i++
		m := measurement{phase: p, value: string(p), result: cty.StringVal(string(p))}
		if p == Error {
			m.value, m.err, m.result = "", "connection refused", cty.NilVal
		}
		return m
	}
}

func TestGateLimits(t *testing.T) {
	for _, tc := range []struct {
		name        string
		s           settings
		script      string // S successful, F failed, I inconclusive, E error
		want        Phase
		s_, f, i, e int
	}{
		{"all successful", settings{count: 3, consecutiveErrorLimit: 4}, "SSS", Successful, 3, 0, 0, 0},
		{"one failure fails at once with failure_limit 0", settings{count: 5, consecutiveErrorLimit: 4}, "SF", Failed, 1, 1, 0, 0},
		{"a failure within failure_limit", settings{count: 3, failureLimit: 1, consecutiveErrorLimit: 4}, "SFS", Successful, 2, 1, 0, 0},
		{"failures beyond failure_limit stop early", settings{count: 6, failureLimit: 1, consecutiveErrorLimit: 4}, "FSF", Failed, 1, 2, 0, 0},
		{"inconclusive beyond inconclusive_limit", settings{count: 4, consecutiveErrorLimit: 4}, "SI", Inconclusive, 1, 0, 1, 0},
		{"inconclusive within inconclusive_limit", settings{count: 2, inconclusiveLimit: 1, consecutiveErrorLimit: 4}, "IS", Successful, 1, 0, 1, 0},
		{"consecutive errors beyond the limit", settings{count: 3, consecutiveErrorLimit: 2}, "SEEE", Error, 1, 0, 0, 3},
		{"errors are taken again and do not use up count", settings{count: 2, consecutiveErrorLimit: 2}, "EESEES", Successful, 2, 0, 0, 4},
		{"a verdict resets consecutive errors", settings{count: 3, failureLimit: 1, consecutiveErrorLimit: 1}, "ESEFES", Successful, 2, 1, 0, 3},
		{"consecutive_error_limit 0 fails on the first error", settings{count: 3}, "E", Error, 0, 0, 0, 1},
		{"failure checked before count completes", settings{count: 2, consecutiveErrorLimit: 4}, "SF", Failed, 1, 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var msgs []string
			g := &gate{name: "healthy", s: tc.s, clock: newFakeClock(), measure: script(t, tc.script),
				report: func(m string) { msgs = append(msgs, m) }}
			tl, err := g.run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tl.phase != tc.want {
				t.Errorf("phase = %s, want %s", tl.phase, tc.want)
			}
			if got := len(tl.measurements); got != len(tc.script) {
				t.Errorf("took %d measurements, want %d (the whole script %q)", got, len(tc.script), tc.script)
			}
			if tl.successful != tc.s_ || tl.failed != tc.f || tl.inconclusive != tc.i || tl.errored != tc.e {
				t.Errorf("counts = %d/%d/%d/%d, want %d/%d/%d/%d", tl.successful, tl.failed, tl.inconclusive, tl.errored, tc.s_, tc.f, tc.i, tc.e)
			}
			if len(msgs) != len(tc.script) {
				t.Errorf("reported %d times, want once per measurement: %q", len(msgs), msgs)
			}
		})
	}
}

func TestGateSchedule(t *testing.T) {
	clk := newFakeClock()
	calls := 0
	g := &gate{name: "healthy", s: settings{count: 3, interval: 10 * time.Second, initialDelay: 30 * time.Second, consecutiveErrorLimit: 4},
		clock: clk, report: func(string) {},
		measure: func(context.Context) measurement {
			calls++
			// The measurements take 4s, then 12s: the interval runs from
			// start to start, and a late measurement is followed at once.
			clk.advance(map[int]time.Duration{1: 4 * time.Second, 2: 12 * time.Second, 3: 0}[calls])
			return measurement{phase: Successful}
		}}
	tl, err := g.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{30 * time.Second, 6 * time.Second, 0}
	if len(clk.sleeps) != len(want) {
		t.Fatalf("sleeps = %v, want %v", clk.sleeps, want)
	}
	for i := range want {
		if clk.sleeps[i] != want[i] {
			t.Errorf("sleep %d = %s, want %s (all: %v)", i, clk.sleeps[i], want[i], clk.sleeps)
		}
	}
	if tl.phase != Successful {
		t.Errorf("phase = %s", tl.phase)
	}
}

func TestGateStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	g := &gate{name: "healthy", s: settings{count: 5, interval: time.Second, consecutiveErrorLimit: 4},
		clock: newFakeClock(), report: func(string) {},
		measure: func(context.Context) measurement {
			calls++
			if calls == 2 {
				cancel() // the CI job is cancelled while the second measurement runs
				return measurement{phase: Error, err: "context canceled"}
			}
			return measurement{phase: Successful}
		}}
	tl, err := g.run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var v *Verdict
	if errors.As(err, &v) {
		t.Errorf("a cancellation is not a verdict: %v", err)
	}
	if len(tl.measurements) != 1 || calls != 2 {
		t.Errorf("kept %d measurements after %d calls; the cut measurement must not count", len(tl.measurements), calls)
	}
	if !strings.Contains(err.Error(), "interrupted after 1 measurements") {
		t.Errorf("err = %q", err)
	}
}

func TestGateTimeoutDuringWait(t *testing.T) {
	// As the engine does it: a deadline with a cause of its own.
	ctx, cancel := context.WithTimeoutCause(context.Background(), 0, errors.New("attempt timed out after 5m"))
	defer cancel()
	g := &gate{name: "healthy", s: settings{count: 2, initialDelay: time.Minute},
		clock: realClock{}, report: func(string) {},
		measure: func(context.Context) measurement { t.Fatal("measured after the deadline"); return measurement{} }}
	_, err := g.run(ctx)
	if err == nil || !strings.Contains(err.Error(), "cut short by the stage timeout after 0 measurements") || !strings.Contains(err.Error(), "attempt timed out after 5m") {
		t.Fatalf("err = %v, want the stage timeout named", err)
	}
}

func TestGateProgress(t *testing.T) {
	var msgs []string
	g := &gate{name: "healthy", s: settings{count: 3, failureLimit: 2, consecutiveErrorLimit: 4}, clock: newFakeClock(),
		measure: script(t, "SFES"), report: func(m string) { msgs = append(msgs, m) }}
	// SFES takes 3 verdicts and passes; the error is within limits.
	if tl, err := g.run(context.Background()); err != nil || tl.phase != Successful {
		t.Fatalf("phase %v, err %v", tl.phase, err)
	}
	want := []string{
		"analysis healthy: 1/3 successful, 0 failed",
		"analysis healthy: 1/3 successful, 1 failed",
		"analysis healthy: 1/3 successful, 1 failed, 1 error",
		"analysis healthy: 2/3 successful, 1 failed, 1 error",
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}

// TestVerdictSaysErrorOnce: a gate that ends in Error reads "could not
// measure", not "Error:", which the run's summary already puts before a
// failed run's error ("Error: stage verify: analysis health: Error: …").
func TestVerdictSaysErrorOnce(t *testing.T) {
	for _, tc := range []struct {
		script string
		s      settings
		want   string
	}{
		{"SEEE", settings{count: 3, consecutiveErrorLimit: 2}, "analysis healthy could not measure: 3 consecutive measurement errors, more than consecutive_error_limit 2; last error: connection refused (1 successful, 0 failed, 0 inconclusive, 3 errors)"},
		{"SF", settings{count: 3, consecutiveErrorLimit: 2}, `analysis healthy failed: 1 measurement failed, more than failure_limit 0; last failed value "Failed" (1 successful, 1 failed, 0 inconclusive, 0 errors)`},
		{"I", settings{count: 3, consecutiveErrorLimit: 2}, `analysis healthy was inconclusive: 1 measurement inconclusive, more than inconclusive_limit 0; last inconclusive value "Inconclusive" (0 successful, 0 failed, 1 inconclusive, 0 errors)`},
	} {
		g := &gate{name: "healthy", s: tc.s, clock: newFakeClock(), measure: script(t, tc.script), report: func(string) {}}
		tl, err := g.run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := newVerdict("healthy", tc.s, tl).Error()
		if got != tc.want {
			t.Errorf("%s: verdict\n  %s\nwant\n  %s", tc.script, got, tc.want)
		}
		if line := "Error: stage verify: " + got; strings.Count(line, "Error") != 1 {
			t.Errorf("%s: the summary's line says Error more than once: %s", tc.script, line)
		}
	}
}
