package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/events"
)

func TestTextFailedRun(t *testing.T) {
	var b bytes.Buffer
	s := NewText(&b, Options{Secrets: secrets})
	play(s, failedRun())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	noSecrets(t, "text output", b.Bytes())
	for _, want := range []string{
		"   0.5s  deploy_green     started (attempt 1)\n",
		"progress: ready replicas 0/3\n",
		"retrying in 2s: apply Deployment shop/checkout-green",
		"failed: analysis healthy: 2 failed measurements (failure_limit 1) | last: GET",
		"Result: failed, undo incomplete in 15.1s",
		"Left for a person:\n  - deploy_green: restore Deployment",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// Rate limit: 1/3 at 1.5s comes 0.5s after 0/3 and is dropped; the
	// repeated 2/3 is dropped; the 1/3 suppressed at 3.9s is shown before
	// the retry line, so the log says what the attempt was waiting for.
	if n := strings.Count(out, "progress: ready replicas"); n != 3 {
		t.Errorf("want 3 progress lines for deploy_green, got %d:\n%s", n, out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colors without Options.Color")
	}
	golden(t, "text.golden", b.Bytes())
}

func TestTextColor(t *testing.T) {
	var b bytes.Buffer
	play(NewText(&b, Options{Color: true}), okRun())
	if !strings.Contains(b.String(), ansiGreen+"succeeded"+ansiReset) {
		t.Errorf("no green succeeded in:\n%q", b.String())
	}
}

func TestTextDiagnostics(t *testing.T) {
	var b bytes.Buffer
	s := NewText(&b, Options{})
	play(s, invalidRun())
	out := b.String()
	for _, want := range []string{
		"error: main.hcl:12,17: Unknown stage\n    There is no stage named \"deploy_gren\".\n",
		"warning: main.hcl:3,3: Deprecated attribute\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// A run that fails before any stage wrote ends "failed, undone" with no
// undo: the Result line says there was nothing to undo, and one with an
// undo still says undone.
func TestTextNothingToUndo(t *testing.T) {
	run := func(undo bool) string {
		evs := []events.Event{
			{Type: events.RunStarted, Time: at(0), RunID: "r-8", Pipeline: "p", Stages: []events.Stage{{Name: "a"}, {Name: "b"}}},
			{Type: events.StageStarted, Time: at(0), Stage: "a", Attempt: 1},
		}
		if undo {
			evs = append(evs, events.Event{Type: events.StageSucceeded, Time: at(0.1), Stage: "a", Attempt: 1},
				events.Event{Type: events.StageStarted, Time: at(0.1), Stage: "b", Attempt: 1},
				events.Event{Type: events.StageFailed, Time: at(0.2), Stage: "b", Attempt: 1, Error: "boom"},
				events.Event{Type: events.UndoStarted, Time: at(0.2), Stage: "a"},
				events.Event{Type: events.UndoSucceeded, Time: at(0.3), Stage: "a"})
		} else {
			evs = append(evs, events.Event{Type: events.StageFailed, Time: at(0.1), Stage: "a", Attempt: 1, Error: "boom"},
				events.Event{Type: events.StageSkipped, Time: at(0.1), Stage: "b", Message: "dependency a failed"})
		}
		evs = append(evs, events.Event{Type: events.RunFinished, Time: at(0.3), RunID: "r-8", Result: events.FailedUndone, Error: "boom"})
		var b, md bytes.Buffer
		play(NewText(&b, Options{}), evs)
		m := newModel()
		for _, e := range evs {
			m.apply(e)
		}
		if err := writeMarkdown(&md, m); err != nil {
			t.Fatal(err)
		}
		return b.String() + md.String()
	}
	for _, c := range []struct {
		undo      bool
		want, not string
		markdown  string
	}{
		{false, "Result: failed in 0.3s, nothing to undo\n", "undone", "failed, nothing to undo\n"},
		{true, "Result: failed, undone in 0.3s\n", "nothing to undo", "failed, undone\n"},
	} {
		out := run(c.undo)
		if !strings.Contains(out, c.want) || !strings.Contains(out, c.markdown) || strings.Contains(out, "Result: failed, "+c.not) {
			t.Errorf("undo %v: want %q and %q, not %q, in:\n%s", c.undo, c.want, c.markdown, c.not, out)
		}
	}
}
