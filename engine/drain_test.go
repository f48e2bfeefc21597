package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/events"
)

// waits are the progress messages of stage that say it waited for the
// data plane.
func (c *collected) waits(stage string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.ev {
		if e.Stage == stage && e.Type == events.StageProgress && strings.Contains(e.Message, "drain_delay") {
			out = append(out, e.Message)
		}
	}
	return out
}

// gap is how long after the first time of a the first time of b came.
func (l *eventLog) gap(t *testing.T, a, b string) time.Duration {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.times[a]) == 0 || len(l.times[b]) == 0 {
		t.Fatalf("no time for %q or %q: %v", a, b, l.times)
	}
	return l.times[b][0].Sub(l.times[a][0])
}

// An undo puts traffic back, then waits the switch's drain_delay before
// removing what the run created: the data plane still sends clients there
// until it follows (docs/design.md, "Draining"). With drain_delay 0 the
// deletion follows at once.
func TestUndoWaitsForTheDataPlaneBeforeShrinking(t *testing.T) {
	const src = `
pipeline "p" {}
stage "deploy_green" {
  safe {
    target = "green"
    shrink = true
  }
}
stage "switch" {
  depends_on = [stage.deploy_green]
  safe {
    target = "svc"
    drain  = "%s"
  }
}
stage "gate" {
  depends_on = [stage.switch]
  safe {
    target = "gate"
    fail   = true
  }
}
`
	out, l, sink := run(t, strings.Replace(src, "%s", "400ms", 1), Inputs{})
	if out.Result != events.FailedUndone {
		t.Fatalf("result %s: %v", out.Result, out.UndoPending)
	}
	if got := strings.Join(l.undone, ","); got != "gate,switch,deploy_green" {
		t.Fatalf("undo order %s", got)
	}
	if gap := l.gap(t, "switch undo", "deploy_green undo"); gap < 400*time.Millisecond {
		t.Errorf("deploy_green undone %s after the switch's undo, before its drain_delay (400ms)", gap)
	}
	if w := sink.waits("deploy_green"); len(w) != 1 || !strings.Contains(w[0], "to follow switch") {
		t.Errorf("deploy_green's undo said %q", w)
	}
	// The gate writes: it waited for the switch's forward move too; the
	// switch's own undo (not a shrink) did not wait.
	if w := sink.waits("gate"); len(w) != 1 {
		t.Errorf("gate said %q", w)
	}
	if w := sink.waits("switch"); len(w) != 0 {
		t.Errorf("switch's undo waited: %q", w)
	}

	out, l, sink = run(t, strings.Replace(src, "%s", "0s", 1), Inputs{})
	if out.Result != events.FailedUndone || strings.Join(l.undone, ",") != "gate,switch,deploy_green" {
		t.Fatalf("drain_delay 0: result %s, undone %v", out.Result, l.undone)
	}
	for _, st := range []string{"gate", "switch", "deploy_green"} {
		if w := sink.waits(st); len(w) != 0 {
			t.Errorf("drain_delay 0: %s waited: %q", st, w)
		}
	}
}

// Forward, a stage that writes after a switch (retiring the old version)
// waits the switch's drain_delay; a gate between them does not, and counts
// towards it.
func TestWritesAfterASwitchWaitForTheDataPlane(t *testing.T) {
	out, l, sink := run(t, `
pipeline "p" {}
stage "switch" {
  safe {
    target = "svc"
    drain  = "400ms"
  }
}
stage "verify" {
  depends_on = [stage.switch]
  look {}
}
stage "retire_blue" {
  depends_on = [stage.verify]
  safe { target = "blue" }
}
`, Inputs{})
	if out.Result != events.Succeeded {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	if gap := l.gap(t, "switch", "retire_blue"); gap < 400*time.Millisecond {
		t.Errorf("retire_blue ran %s after the switch, before its drain_delay (400ms)", gap)
	}
	if w := sink.waits("retire_blue"); len(w) != 1 || !strings.Contains(w[0], "to follow switch") {
		t.Errorf("retire_blue said %q", w)
	}
	if w := sink.waits("verify"); len(w) != 0 {
		t.Errorf("the read-only verify waited: %q", w)
	}
}
