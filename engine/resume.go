package engine

import (
	"fmt"
	"time"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/steps"
	"github.com/zclconf/go-cty/cty"
)

// A run resumed after its process died (run --resume) goes on from its
// journal. A step whose own wait has a bound (steps.Bounded: a pause's
// timeout) keeps the end the journal gave the attempt that was waiting:
// started again from the full bound, a release whose job is killed and
// resumed again and again would never time out.

// resumeMessage is RunStarted's Message: events.ResumeRun when the run goes
// on from a journal.
func resumeMessage(resume []journal.Entry) string {
	if len(resume) > 0 {
		return events.ResumeRun
	}
	return ""
}

// deadlineSlack is how far before its own start an attempt's deadline may
// lie: a stage that starts as the pipeline's deadline passes is given that
// deadline, a moment in its past.
const deadlineSlack = time.Second

// checkResumed refuses a journal whose attempts end before they start (a
// deadline cutover does not write): read as the end of a wait, it would
// answer a pause's question with its on_timeout at once.
func checkResumed(entries []journal.Entry) error {
	for _, e := range entries {
		if t, ok := transitionOf(e); !ok || t != toStarted || e.Deadline.IsZero() {
			continue
		}
		if e.Time.IsZero() || e.Deadline.Before(e.Time.Add(-deadlineSlack)) {
			return fmt.Errorf("the journal says attempt %d of stage %s started at %s and ends at %s, before it started: not a deadline cutover writes, so the run is not resumed (cutover status shows the journal; cutover undo RUN undoes it)",
				e.Attempt, e.Stage, stamp(e.Time), stamp(e.Deadline))
		}
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(no time)"
	}
	return t.UTC().Format(time.RFC3339)
}

// resumedWait is when the step of st, given cfg, ends its own wait in an
// attempt resumed from one that ended at until (zero: not resumed, or the
// kind's wait has no bound): never later than its bound from now, so a
// deadline far ahead gives no more than a new attempt would. One in the
// past ends the wait at once, as the process that died would have.
func resumedWait(st *Stage, cfg cty.Value, until time.Time) time.Time {
	b, ok := st.Kind.(steps.Bounded)
	if !ok || until.IsZero() {
		return time.Time{}
	}
	d := b.Bound(cfg)
	if d <= 0 {
		return time.Time{}
	}
	if fresh := time.Now().Add(d); fresh.Before(until) {
		return fresh
	}
	return until
}
