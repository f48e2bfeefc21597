package notify

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/report"
)

// The run's last notification tells how it ended as the terminal summary
// does: a run that failed before any write has nothing to undo, not
// "everything undone"; one whose undo left something says so. Each case is
// delivered to a local receiver and compared with the summary that the
// same events print.
func TestRunEndTellsWhatTheSummaryTells(t *testing.T) {
	ev := func(typ events.Type, stage string) events.Event {
		return events.Event{Type: typ, RunID: "r-7", Pipeline: "shop", Stage: stage, Kind: "deploy"}
	}
	failed := []events.Event{ev(events.RunStarted, ""), ev(events.StageStarted, "web"), ev(events.StageFailed, "web")}
	undone := append(failed[:3:3], ev(events.UndoStarted, "web"), ev(events.UndoSucceeded, "web"))
	undoFailed := append(failed[:3:3], ev(events.UndoStarted, "web"), ev(events.UndoFailed, "web"))
	undoRun := ev(events.RunStarted, "")
	undoRun.Message = events.UndoRun
	dry := func(typ events.Type) events.Event {
		e := ev(typ, "")
		e.DryRun = true
		return e
	}
	end := func(evs []events.Event, r events.Result, pending ...string) []events.Event {
		e := ev(events.RunFinished, "")
		e.Result, e.UndoPending = r, pending
		e.DryRun = len(evs) > 0 && evs[0].DryRun
		return append(evs[:len(evs):len(evs)], e)
	}
	for _, c := range []struct {
		name    string
		evs     []events.Event
		event   string
		text    string // the notification's
		summary string // the terminal's Result line, without the duration
	}{
		{"nothing to undo", end(failed, events.FailedUndone), Undone,
			"shop: run r-7 failed at stage web, nothing to undo", "Result: failed, nothing to undo"},
		{"undone", end(undone, events.FailedUndone), Undone,
			"shop: run r-7 failed at stage web, everything undone", "Result: failed, undone"},
		{"interrupted before any write", end(failed[:2], events.Interrupted), Undone,
			"shop: run r-7 interrupted, nothing to undo", "Result: interrupted, nothing to undo"},
		{"interrupted and undone", end(append(failed[:2:2], ev(events.UndoStarted, "web"), ev(events.UndoSucceeded, "web")), events.Interrupted), Undone,
			"shop: run r-7 interrupted, everything undone", "Result: interrupted"},
		{"undo failed", end(undoFailed, events.UndoIncomplete, "stage web: restore by hand"), Failed,
			"shop: run r-7 failed at stage web, undo incomplete", "Result: failed, undo incomplete"},
		{"undo of a run left incomplete", end([]events.Event{undoRun, ev(events.UndoStarted, "web"), ev(events.UndoFailed, "web")}, events.UndoIncomplete, "stage web: restore by hand"), Failed,
			"shop: run r-7: undo incomplete", "Result: undo incomplete"},
		{"dry run", end([]events.Event{dry(events.RunStarted), ev(events.StageStarted, "web"), ev(events.StageSucceeded, "web")}, events.Succeeded), Succeeded,
			"shop: dry run r-7 succeeded", "Result: dry run succeeded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rcv, base := newReceiver(t, ok)
			play(New([]Target{{Name: "hook", Format: "webhook", URL: base + "/h", On: []string{Undone, Succeeded}}}, Options{}), c.evs)
			play(New([]Target{{Name: "hook", Format: "webhook", URL: base + "/f", On: []string{Failed}}}, Options{}), c.evs)
			var last Message
			for _, b := range append(rcv.bodies["/h"], rcv.bodies["/f"]...) {
				var m Message
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				if m.Scope == "run" {
					last = m
				}
			}
			if last.Event != c.event || last.Text != c.text {
				t.Errorf("notified %s %q, want %s %q", last.Event, last.Text, c.event, c.text)
			}
			var out bytes.Buffer
			txt := report.NewText(&out, report.Options{})
			for _, e := range c.evs {
				txt.Emit(e)
			}
			if err := txt.Close(); err != nil {
				t.Fatal(err)
			}
			line := regexp.MustCompile(` in [0-9.]+m?s`).ReplaceAllString(resultLine(out.String()), "")
			if line != c.summary {
				t.Errorf("summary %q, want %q", line, c.summary)
			}
		})
	}
}

func resultLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Result: ") {
			return l
		}
	}
	return ""
}
