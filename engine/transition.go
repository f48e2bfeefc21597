package engine

import (
	"context"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/steps"
)

// transitionKind is one change in a stage's life. The stage's status, the
// event every renderer sees and the journal entry a resume or an undo reads
// back are all derived from it, so the three vocabularies cannot drift
// apart: add a transition here, and restore understands its entries.
type transitionKind struct {
	status   events.Status // the StageRun's status after it ("": unchanged)
	event    events.Type   // what the run reports
	kind     string        // the journal entry's kind ("": none is written)
	recorded string        // the journal entry's status
	finishes bool          // the stage is done: it takes its place in the undo order
}

// started is the journal's word for an attempt or an undo that began.
const started = "started"

var (
	toStarted     = &transitionKind{events.StatusRunning, events.StageStarted, journal.KindStage, started, false}
	toSucceeded   = &transitionKind{events.StatusSucceeded, events.StageSucceeded, journal.KindStage, string(events.StatusSucceeded), true}
	toFailed      = &transitionKind{events.StatusFailed, events.StageFailed, journal.KindStage, string(events.StatusFailed), true}
	toSkipped     = &transitionKind{events.StatusSkipped, events.StageSkipped, journal.KindStage, string(events.StatusSkipped), false}
	toCancelled   = &transitionKind{events.StatusCancelled, events.StageCancelled, journal.KindStage, string(events.StatusCancelled), true}
	toUndoStarted = &transitionKind{"", events.UndoStarted, journal.KindUndo, started, false}
	toUndone      = &transitionKind{events.StatusUndone, events.UndoSucceeded, journal.KindUndo, string(events.StatusSucceeded), false}
	toUndoFailed  = &transitionKind{events.StatusUndoFailed, events.UndoFailed, journal.KindUndo, string(events.StatusFailed), false}
	toLeftAsIs    = &transitionKind{events.StatusLeftAsIs, events.UndoFailed, journal.KindUndo, string(events.StatusLeftAsIs), false}
	// toNotRun ends a stage that never started (a dependency did not
	// succeed, the run or its wave stopped first). Nothing is journaled: a
	// resume runs the stage, an undo has nothing of it to undo.
	toNotRun = &transitionKind{events.StatusNotRun, events.StageSkipped, "", "", false}
)

// transitions are those a journal entry is read back as (restore).
var transitions = []*transitionKind{toStarted, toSucceeded, toFailed, toSkipped, toCancelled, toUndoStarted, toUndone, toUndoFailed, toLeftAsIs}

// transitionOf reads a journal entry back as the transition that wrote it.
func transitionOf(e journal.Entry) (*transitionKind, bool) {
	for _, t := range transitions {
		if t.kind == e.Kind && t.recorded == e.Status {
			return t, true
		}
	}
	return nil, false
}

// entry is the journal entry of t for a stage.
func (t *transitionKind) entry(stage string, attempt int) journal.Entry {
	return journal.Entry{Kind: t.kind, Stage: stage, Status: t.recorded, Attempt: attempt}
}

// transition moves sr through t (move) and queues t's journal entry for
// the next append; matters as for note.
func (r *runner) transition(sr *StageRun, t *transitionKind, ev events.Event, extra journal.Entry, matters bool) {
	if e := r.move(sr, t, ev, extra); t.kind != "" {
		r.note(matters, e)
	}
}

// startAttempt moves sr into a new attempt that must end by dl (zero: no
// bound): the event at once, the journal entry as durably as startEntry
// decides (stop ends its delayed flush).
func (r *runner) startAttempt(ctx context.Context, sr *StageRun, dl time.Time) (stop func(), err error) {
	e := r.move(sr, toStarted, events.Event{Elapsed: time.Since(sr.Started)}, journal.Entry{Deadline: dl})
	return r.startEntry(ctx, e)
}

// attemptBound is how long an attempt of st, its step given cfg, may take
// by its own rules: the stage's timeout or the step's own wait
// (steps.Bounded), the shorter; 0 when neither bounds it. deadline adds
// the pipeline's.
func attemptBound(st *Stage, cfg cty.Value) time.Duration {
	bound := st.Timeout
	if b, ok := st.Kind.(steps.Bounded); ok {
		if d := b.Bound(cfg); d > 0 && (bound == 0 || d < bound) {
			bound = d
		}
	}
	return bound
}

// deadline is when something starting now in ctx, bounded by timeout (0:
// none) too, must end; zero when nothing bounds it.
func deadline(ctx context.Context, timeout time.Duration) time.Time {
	var dl time.Time
	if timeout > 0 {
		dl = time.Now().Add(timeout)
	}
	if d, ok := ctx.Deadline(); ok && (dl.IsZero() || d.Before(dl)) {
		dl = d
	}
	return dl
}

// move is the one place a stage changes: its status (and, for a stage
// that ends, its duration and place in the undo order) and the event (ev
// carries what is particular: output, error, message), all from t. It
// returns t's journal entry (extra carries its data) for the caller to
// journal.
func (r *runner) move(sr *StageRun, t *transitionKind, ev events.Event, extra journal.Entry) journal.Entry {
	r.mu.Lock()
	if t.status != "" {
		sr.Status = t.status
	}
	if t.finishes {
		sr.Duration = time.Since(sr.Started)
		r.seq++
		sr.finished = r.seq
		ev.Elapsed = sr.Duration
	}
	attempt := sr.Attempts
	if t.kind == journal.KindUndo {
		attempt = 0
	}
	r.mu.Unlock()
	e := t.entry(sr.Name, attempt)
	e.Data, e.Deadline = extra.Data, extra.Deadline
	if ev.Error != "" {
		e.Message = r.red.String(ev.Error)
	}
	ev.Type, ev.Stage = t.event, sr.Name
	if t.kind == journal.KindStage {
		ev.Attempt = attempt
	}
	r.emit(ev)
	return e
}
