package events

// NothingToUndo is how a summary or a notification tells a run whose
// result names an undo ("failed, undone", "interrupted") when no stage had
// anything to undo: it stopped before any write.
const NothingToUndo = "nothing to undo"

// Ending folds a run's events into what its result alone does not tell:
// whether its undo had anything to do. The result stays as the engine
// gives it (docs/events.md); every consumer that words the run's end (the
// text and markdown summaries, notifications) asks Ending, so they all
// tell the same.
type Ending struct {
	Result Result
	undid  bool
}

// Add folds e.
func (n *Ending) Add(e Event) {
	switch e.Type {
	case UndoStarted:
		n.undid = true
	case RunFinished:
		n.Result = e.Result
	}
}

// NothingUndone says whether the run ended undone (failed, or interrupted)
// without any stage to undo.
func (n Ending) NothingUndone() bool {
	return (n.Result == FailedUndone || n.Result == Interrupted) && !n.undid
}

// Words are the run's result as summaries tell it, in two parts around
// what a summary puts after the result (the duration): "failed" and
// ", nothing to undo" when nothing was undone, else the result and "".
func (n Ending) Words() (result, tail string) {
	if !n.NothingUndone() {
		return string(n.Result), ""
	}
	if n.Result == FailedUndone {
		return "failed", ", " + NothingToUndo
	}
	return string(n.Result), ", " + NothingToUndo
}
