package main

import (
	"testing"
	"time"

	"github.com/cutoverhq/cutover/journal"
)

// A run undone after it ended keeps its own result apart from the undo's;
// one that ended once, or died and was undone, shows its status alone.
func TestJudgeUndo(t *testing.T) {
	result := func(s string) journal.Entry { return journal.Entry{Kind: journal.KindResult, Status: s} }
	stage := journal.Entry{Kind: journal.KindStage, Stage: "a", Status: "succeeded"}
	undo := journal.Entry{Kind: journal.KindUndo, Stage: "a", Status: "started"}
	for _, tc := range []struct {
		name          string
		status        string
		entries       []journal.Entry
		release, undo string
		shown         string
	}{
		{"undo left an object", "failed, undo incomplete", []journal.Entry{stage, result("succeeded"), result("failed, undo incomplete")}, "succeeded", "incomplete", "succeeded; undo incomplete"},
		{"undone", "undone", []journal.Entry{stage, result("succeeded"), result("undone")}, "succeeded", "undone", "succeeded; undone"},
		{"undone again with --force", "undone", []journal.Entry{result("succeeded"), result("failed, undo incomplete"), result("undone")}, "succeeded", "undone", "succeeded; undone"},
		{"its own undo was incomplete", "failed, undo incomplete", []journal.Entry{stage, result("failed, undo incomplete")}, "", "", "failed, undo incomplete"},
		{"died, then undone", "undone", []journal.Entry{stage, result("undone")}, "", "", "undone"},
		// A lost lock stops an undo: the one of a later cutover undo, or
		// the run's own; one lost while the stages ran undid nothing.
		{"undo lost its lock", "lock lost", []journal.Entry{stage, result("succeeded"), undo, result("lock lost")}, "succeeded", "lock lost", "succeeded; undo stopped, lock lost"},
		{"its own undo lost its lock", "lock lost", []journal.Entry{stage, undo, result("lock lost")}, "", "lock lost", "lock lost, undo stopped"},
		{"lost its lock while running", "lock lost", []journal.Entry{stage, result("lock lost")}, "", "", "lock lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runView{Status: tc.status, State: tc.status}
			r.judgeUndo(tc.entries)
			if r.Release != tc.release || r.Undo != tc.undo || r.shown() != tc.shown {
				t.Errorf("release %q undo %q shown %q; want %q %q %q", r.Release, r.Undo, r.shown(), tc.release, tc.undo, tc.shown)
			}
		})
	}
}

// Completion offers the runs the commands take: --resume a running one,
// undo one not undone and, without --force, not followed by another
// release of its pipeline.
func TestCompletionRules(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 12, 3, 12, m, 0, 0, time.UTC) }
	old := journal.Meta{RunID: "old", Pipeline: "p", Status: "succeeded", Started: at(1)}
	newer := journal.Meta{RunID: "new", Pipeline: "p", Status: "succeeded", Started: at(2)}
	other := journal.Meta{RunID: "other", Pipeline: "q", Status: "succeeded", Started: at(3)}
	undoneRun := journal.Meta{RunID: "u", Pipeline: "p", Status: "failed, undone", Started: at(4)}
	running := journal.Meta{RunID: "r", Pipeline: "s", Status: journal.StatusRunning, Started: at(5)}
	all := []journal.Meta{running, undoneRun, other, newer, old}
	for _, tc := range []struct {
		m                      journal.Meta
		resume, undo, undoWith bool
	}{
		{old, false, false, true},
		{newer, false, true, true},
		{other, false, true, true},
		{undoneRun, false, false, false},
		{running, true, true, true},
	} {
		if got := resumable(tc.m); got != tc.resume || (endedRun(tc.m, nil) == "") != tc.resume {
			t.Errorf("%s: resumable = %v, endedRun %q; want %v", tc.m.RunID, got, endedRun(tc.m, nil), tc.resume)
		}
		if got := undoable(&options{}, tc.m, all); got != tc.undo {
			t.Errorf("%s: undoable = %v, want %v", tc.m.RunID, got, tc.undo)
		}
		if got := undoable(&options{force: true}, tc.m, all); got != tc.undoWith {
			t.Errorf("%s: undoable with --force = %v, want %v", tc.m.RunID, got, tc.undoWith)
		}
	}
}

// process names a lock's holder as a person reads it.
func TestProcess(t *testing.T) {
	for who, want := range map[string]string{
		"root@vm (pid 27541)":                    "pid 27541 on vm",
		"https://github.com/a/b/actions/runs/42": "https://github.com/a/b/actions/runs/42",
		"":                                       "its process unnamed",
		"user@host":                              "user@host",
	} {
		if got := process(who); got != want {
			t.Errorf("process(%q) = %q, want %q", who, got, want)
		}
	}
}
