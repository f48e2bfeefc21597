package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/cutoverhq/cutover/steps"
)

// drainState is how far the data plane may lag the run: until when it may
// still act on routing a stage changed (steps.Env.Moved), and which stage
// (docs/design.md, "Draining").
type drainState struct {
	until time.Time
	by    string
}

// moved is the Env.Moved of stage name: the latest end of a drain wins.
func (r *runner) moved(name string) func(time.Duration) {
	return func(d time.Duration) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if t := time.Now().Add(d); t.After(r.drain.until) {
			r.drain = drainState{until: t, by: name}
		}
	}
}

// awaitDrain holds stage name's write (or compensation) until the data
// plane had its drain_delay to follow the last stage that moved traffic,
// saying so through report. A stage never waits for its own move (a retried
// switch). It returns the context's cause when the wait is cut.
func (r *runner) awaitDrain(ctx context.Context, name string, report func(string)) error {
	r.mu.Lock()
	d := r.drain
	r.mu.Unlock()
	left := time.Until(d.until)
	if left <= 0 || d.by == name {
		return nil
	}
	report(fmt.Sprintf("waiting %s for the data plane to follow %s (its drain_delay)", left.Round(100*time.Millisecond), r.address(d.by)))
	if err := steps.Sleep(ctx, left); err != nil {
		return fmt.Errorf("cut while waiting for the data plane to follow %s: %w", r.address(d.by), err)
	}
	return nil
}
