package events

import "testing"

// The wording every summary uses, and the field the JSON stream carries,
// come from the same fold of the events.
func TestEndingWordsAndEnded(t *testing.T) {
	for _, tc := range []struct {
		name       string
		evs        []Event
		result     string
		tail, undo string
	}{
		{"failed before any write", []Event{{Type: RunStarted}, {Type: RunFinished, Result: FailedUndone}}, "failed", ", nothing to undo", UndoNothing},
		{"failed and undone", []Event{{Type: RunStarted}, {Type: UndoStarted, Stage: "a"}, {Type: RunFinished, Result: FailedUndone}}, "failed, undone", "", ""},
		{"interrupted before any write", []Event{{Type: RunFinished, Result: Interrupted}}, "interrupted", ", nothing to undo", UndoNothing},
		{"succeeded", []Event{{Type: RunFinished, Result: Succeeded}}, "succeeded", "", ""},
		{"dry run", []Event{{Type: RunStarted, DryRun: true}, {Type: RunFinished, Result: Succeeded, DryRun: true}}, "dry run succeeded", "", ""},
		{"cutover undo that left an object", []Event{{Type: RunStarted, Message: UndoRun}, {Type: UndoStarted, Stage: "a"}, {Type: RunFinished, Result: UndoIncomplete}}, "undo incomplete", "", ""},
		{"a run whose own undo was incomplete", []Event{{Type: RunStarted}, {Type: UndoStarted, Stage: "a"}, {Type: RunFinished, Result: UndoIncomplete}}, "failed, undo incomplete", "", ""},
		{"dry run that failed", []Event{{Type: RunFinished, Result: FailedUndone, DryRun: true}}, "dry run failed", ", nothing to undo", UndoNothing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n Ending
			var last Event
			sink := Ended(SinkFunc(func(e Event) { last = e }))
			for _, e := range tc.evs {
				n.Add(e)
				sink.Emit(e)
			}
			if r, tail := n.Words(); r != tc.result || tail != tc.tail {
				t.Errorf("Words = %q, %q; want %q, %q", r, tail, tc.result, tc.tail)
			}
			if last.Undo != tc.undo {
				t.Errorf("run_finished undo = %q, want %q", last.Undo, tc.undo)
			}
		})
	}
}
