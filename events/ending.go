package events

import "sync"

// NothingToUndo is how a summary or a notification tells a run whose
// result names an undo ("failed, undone", "interrupted") when no stage had
// anything to undo: it stopped before any write.
const NothingToUndo = "nothing to undo"

// UndoNothing is RunFinished's Undo for a run whose undo had nothing to do.
const UndoNothing = "nothing"

// Ended passes every event on to s, a RunFinished with Undo set to
// UndoNothing when Ending says nothing was undone: the JSON stream and
// every decoration fed from it tell what the text summary tells. The
// engine wraps its sink in it; events come from several goroutines.
func Ended(s Sink) Sink { return &ended{s: s} }

type ended struct {
	mu sync.Mutex
	n  Ending
	s  Sink
}

func (d *ended) Emit(e Event) {
	d.mu.Lock()
	d.n.Add(e)
	if e.Type == RunFinished && d.n.NothingUndone() {
		e.Undo = UndoNothing
	}
	d.mu.Unlock()
	d.s.Emit(e)
}

// Ending folds a run's events into what its result alone does not tell:
// whether its undo had anything to do. The result stays as the engine
// gives it (docs/events.md); every consumer that words the run's end (the
// text and markdown summaries, notifications) asks Ending, so they all
// tell the same.
type Ending struct {
	Result Result
	// DryRun: the run was a --dry-run=server run, its result and outputs
	// those of a rehearsal.
	DryRun bool
	undid  bool
	// undoRun: the events are `cutover undo RUN`'s (RunStarted's Message
	// UndoRun), whose incomplete end is not a release that failed.
	undoRun bool
}

// Add folds e.
func (n *Ending) Add(e Event) {
	switch e.Type {
	case RunStarted:
		n.undoRun = e.Message == UndoRun
	case UndoStarted:
		n.undid = true
	case RunFinished:
		n.Result = e.Result
		n.DryRun = e.DryRun
	}
}

// UndoOfRun says whether the events are `cutover undo RUN`'s.
func (n Ending) UndoOfRun() bool { return n.undoRun }

// NothingUndone says whether the run ended undone (failed, or interrupted)
// without any stage to undo.
func (n Ending) NothingUndone() bool {
	return (n.Result == FailedUndone || n.Result == Interrupted) && !n.undid
}

// Words are the run's result as summaries tell it, in two parts around
// what a summary puts after the result (the duration): "failed" and
// ", nothing to undo" when nothing was undone, else the result and "".
// A dry run's result says so first: "dry run succeeded".
func (n Ending) Words() (result, tail string) {
	result = string(n.Result)
	if n.NothingUndone() {
		tail = ", " + NothingToUndo
		if n.Result == FailedUndone {
			result = "failed"
		}
	}
	if n.undoRun && n.Result == UndoIncomplete {
		// The undo of a run (that may have succeeded) did not finish;
		// the result's "failed" would say the release had.
		result = "undo incomplete"
	}
	if n.DryRun && result != "" {
		result = "dry run " + result
	}
	return result, tail
}
