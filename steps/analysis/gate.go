package analysis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/steps"
)

// Phase is the outcome of a measurement or of a whole analysis.
type Phase string

const (
	Successful   Phase = "Successful"
	Failed       Phase = "Failed"
	Inconclusive Phase = "Inconclusive"
	Error        Phase = "Error"
	// Skipped is the phase of a gate in a dry run: nothing was measured.
	Skipped Phase = "Skipped"
)

// measurement is one judged result.
type measurement struct {
	phase  Phase
	value  string    // short form of the result, "" on error
	err    string    // the provider's or the expression's error
	result cty.Value // cty.NilVal when the provider gave nothing
	at     time.Time
}

// clock is time as the gate sees it; tests replace it to check the
// schedule without waiting.
type clock interface {
	Now() time.Time
	// Sleep waits d, or returns ctx's cause as soon as ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return steps.Sleep(ctx, d) }

// gate runs the schedule and applies the limits. It knows nothing of
// providers or expressions: measure does both and returns a judged
// measurement.
type gate struct {
	name    string
	s       settings
	measure func(ctx context.Context) measurement
	clock   clock
	report  func(string)
}

// tally is the state of a gate, and its result.
type tally struct {
	phase                                     Phase
	successful, failed, inconclusive, errored int
	consecutiveErrors                         int
	measurements                              []measurement
	last                                      cty.Value // last result a provider gave
}

func (t *tally) add(m measurement) {
	t.measurements = append(t.measurements, m)
	if m.result != cty.NilVal {
		t.last = m.result
	}
	switch m.phase {
	case Successful:
		t.successful++
	case Failed:
		t.failed++
	case Inconclusive:
		t.inconclusive++
	case Error:
		t.errored++
		t.consecutiveErrors++
		return
	}
	t.consecutiveErrors = 0
}

// taken counts the measurements that reached a verdict; errors are taken
// again and do not use up count.
func (t *tally) taken() int { return t.successful + t.failed + t.inconclusive }

// decide returns the phase the limits impose, or "" while the gate is open.
func (t *tally) decide(s settings) Phase {
	switch {
	case t.failed > s.failureLimit:
		return Failed
	case t.inconclusive > s.inconclusiveLimit:
		return Inconclusive
	case t.consecutiveErrors > s.consecutiveErrorLimit:
		return Error
	case t.taken() >= s.count:
		return Successful
	}
	return ""
}

func (t *tally) progress() string {
	s := fmt.Sprintf("%d successful, %d failed", t.successful, t.failed)
	if t.inconclusive > 0 {
		s += fmt.Sprintf(", %d inconclusive", t.inconclusive)
	}
	if t.errored > 0 {
		s += ", " + words.Count(t.errored, "error")
	}
	return s
}

// run takes measurements until the limits or count decide. It returns the
// tally, and an error only when ctx ended first; a failed verdict is in
// tally.phase, not an error, so the caller can still build the output.
func (g *gate) run(ctx context.Context) (*tally, error) {
	t := &tally{last: cty.NullVal(cty.DynamicPseudoType)}
	if d := g.s.initialDelay; d > 0 {
		g.report(fmt.Sprintf("analysis %s: initial delay %s", g.name, d))
		if err := g.clock.Sleep(ctx, d); err != nil {
			return t, g.interrupted(ctx, t, err)
		}
	}
	var next time.Time
	for {
		if !next.IsZero() {
			if err := g.clock.Sleep(ctx, next.Sub(g.clock.Now())); err != nil {
				return t, g.interrupted(ctx, t, err)
			}
		}
		next = g.clock.Now().Add(g.s.interval)
		m := g.measure(ctx)
		if ctx.Err() != nil {
			// The measurement was cut short by the cancellation, not
			// judged: it says nothing about the application.
			return t, g.interrupted(ctx, t, context.Cause(ctx))
		}
		t.add(m)
		g.report(fmt.Sprintf("analysis %s: %d/%d successful, %s", g.name, t.successful, g.s.count,
			strings.TrimPrefix(t.progress(), fmt.Sprintf("%d successful, ", t.successful))))
		if p := t.decide(g.s); p != "" {
			t.phase = p
			return t, nil
		}
	}
}

// interrupted explains a gate cut short. The engine gives its timeout a
// cause of its own, so the deadline is recognised from ctx, not the cause.
func (g *gate) interrupted(ctx context.Context, t *tally, cause error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("analysis %s cut short by the stage timeout after %d measurements (%s): %w",
			g.name, len(t.measurements), t.progress(), cause)
	}
	return fmt.Errorf("analysis %s interrupted after %d measurements (%s): %w",
		g.name, len(t.measurements), t.progress(), cause)
}
