package engine

import (
	"time"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
)

// transitionKind is one change in a stage's life. The stage's status, the
// event every renderer sees and the journal entry a resume or an undo reads
// back are all derived from it, so the three vocabularies cannot drift
// apart: add a transition here, and restore understands its entries.
type transitionKind struct {
	status   string      // the StageRun's status after it ("": unchanged)
	event    events.Type // what the run reports
	kind     string      // the journal entry's kind
	recorded string      // the journal entry's status
	finishes bool        // the stage is done: it takes its place in the undo order
}

var (
	toStarted     = &transitionKind{StatusRunning, events.StageStarted, journal.KindStage, "started", false}
	toSucceeded   = &transitionKind{StatusSucceeded, events.StageSucceeded, journal.KindStage, StatusSucceeded, true}
	toFailed      = &transitionKind{StatusFailed, events.StageFailed, journal.KindStage, StatusFailed, true}
	toSkipped     = &transitionKind{StatusSkipped, events.StageSkipped, journal.KindStage, StatusSkipped, false}
	toCancelled   = &transitionKind{StatusCancelled, events.StageCancelled, journal.KindStage, StatusCancelled, true}
	toUndoStarted = &transitionKind{"", events.UndoStarted, journal.KindUndo, "started", false}
	toUndone      = &transitionKind{StatusUndone, events.UndoSucceeded, journal.KindUndo, StatusSucceeded, false}
	toUndoFailed  = &transitionKind{StatusUndoFail, events.UndoFailed, journal.KindUndo, StatusFailed, false}
	toLeftAsIs    = &transitionKind{StatusLeftAsIs, events.UndoFailed, journal.KindUndo, StatusLeftAsIs, false}
)

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

// transition moves sr through t: its status (and, for a stage that ends,
// its duration and place in the undo order), the event (ev carries what is
// particular: output, error, message) and the journal entry (extra carries
// data), queued for the next append; matters as for note. Stage starts are
// journaled by the caller (startEntry decides how durably).
func (r *runner) transition(sr *StageRun, t *transitionKind, ev events.Event, extra journal.Entry, matters bool) {
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
	e.Data = extra.Data
	if ev.Error != "" {
		e.Message = r.red.String(ev.Error)
	}
	r.note(matters, e)
	ev.Type, ev.Stage = t.event, sr.Name
	if t.kind == journal.KindStage {
		ev.Attempt = attempt
	}
	r.emit(ev)
}
