package report

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/cutoverhq/cutover/events"
)

// terminal is a pseudo-terminal whose master side is read continuously into
// a buffer, so a test can wait for text to appear on the "screen".
type terminal struct {
	tty     *os.File
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func openTerminal(t *testing.T) *terminal {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 24, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	term := &terminal{tty: tty, changed: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p := make([]byte, 4096)
		for {
			n, err := master.Read(p)
			if n > 0 {
				term.mu.Lock()
				term.buf.Write(p[:n])
				term.mu.Unlock()
				select {
				case term.changed <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		tty.Close()
		master.Close()
		<-done
	})
	return term
}

// waitFor returns the screen output once it contains every want, or fails
// after a generous deadline (a condition, not a timing assertion).
func (term *terminal) waitFor(t *testing.T, want ...string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		term.mu.Lock()
		s := term.buf.String()
		term.mu.Unlock()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return s
		}
		select {
		case <-term.changed:
		case <-deadline:
			t.Fatalf("terminal never showed %q; it shows:\n%q", want, s)
		}
	}
}

func TestLiveViewOnPseudoTerminal(t *testing.T) {
	term := openTerminal(t)
	var mu sync.Mutex
	now := at(12.8)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }

	sink := ForEnvironment(term.tty, func(k string) string { return map[string]string{"TERM": "xterm", "NO_COLOR": "1"}[k] }, Options{Now: clock})
	live, ok := sink.(*Live)
	if !ok {
		t.Fatalf("ForEnvironment on a terminal without CI chose %T, want *Live", sink)
	}
	evs := []events.Event{
		{Type: events.RunStarted, Time: at(0), RunID: "r-1", Pipeline: "checkout", Stages: []events.Stage{{Name: "deploy_green", Kind: "deploy"}, {Name: "verify_green", Kind: "verify", DependsOn: []string{"deploy_green"}}}},
		{Type: events.StageStarted, Time: at(0.5), Stage: "deploy_green", Attempt: 1},
		{Type: events.StageProgress, Time: at(2), Stage: "deploy_green", Message: "ready replicas 3/10"},
	}
	play(live, evs)
	// The in-flight line: stage, elapsed since its start (12.8s - 0.5s), and
	// what it waits for.
	term.waitFor(t, "deploy_green       12.3s  ready replicas 3/10", "0/2 stages done · 12.8s")

	// The clock moves; the ticker redraws in place (cursor up, clear).
	mu.Lock()
	now = at(14.0)
	mu.Unlock()
	screen := term.waitFor(t, "deploy_green       13.5s  ready replicas 3/10")
	if !strings.Contains(screen, "\x1b[2A\r\x1b[J") {
		t.Errorf("no in-place redraw (cursor up over the 2-line block) in %q", screen)
	}

	play(live, []events.Event{
		{Type: events.StageSucceeded, Time: at(14), Stage: "deploy_green", Attempt: 1},
		{Type: events.StageStarted, Time: at(14), Stage: "verify_green", Attempt: 1},
		{Type: events.StageProgress, Time: at(14), Stage: "verify_green", Message: "analysis 2/6 passed"},
	})
	term.waitFor(t, "  14.0s  deploy_green     succeeded in 13.5s", "verify_green        0.0s  analysis 2/6 passed")
	play(live, []events.Event{
		{Type: events.StageSucceeded, Time: at(20), Stage: "verify_green", Attempt: 1},
		{Type: events.RunFinished, Time: at(20), Result: events.Succeeded},
	})
	screen = term.waitFor(t, "Summary (pipeline checkout, run r-1)", "Result: succeeded in 20.0s", "\x1b[?25h")
	if strings.Contains(screen, "\x1b[3") {
		t.Error("colors with NO_COLOR set")
	}
	if err := Close(sink); err != nil {
		t.Fatal(err)
	}
}

func TestForEnvironmentChoice(t *testing.T) {
	var b bytes.Buffer
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, c := range []struct {
		name string
		env  func(string) string
		opts Options
		want string
	}{
		{"plain", env(), Options{}, "*report.Text"},
		{"json", env("GITHUB_ACTIONS", "true"), Options{Format: "json"}, "events.Multi"},
		{"github", env("GITHUB_ACTIONS", "true"), Options{}, "*report.GitHub"},
		{"gitlab", env("GITLAB_CI", "true"), Options{}, "*report.GitLab"},
		{"junit", env(), Options{JUnit: "x.xml"}, "events.Multi"},
	} {
		got := typeName(ForEnvironment(&b, c.env, c.opts))
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if b.Len() != 0 {
		t.Errorf("choosing wrote %q", b.String())
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *Text:
		return "*report.Text"
	case *GitHub:
		return "*report.GitHub"
	case *GitLab:
		return "*report.GitLab"
	case *Live:
		return "*report.Live"
	case events.Multi:
		return "events.Multi"
	}
	return "other"
}

// A terminal that says it cannot move the cursor or paint (TERM=dumb: Emacs
// shells, some CI log viewers) gets plain lines, without any escape.
func TestDumbTerminalGetsNoEscapes(t *testing.T) {
	term := openTerminal(t)
	sink := ForEnvironment(term.tty, func(k string) string { return map[string]string{"TERM": "dumb"}[k] }, Options{Now: func() time.Time { return at(20) }})
	if _, ok := sink.(*Text); !ok {
		t.Fatalf("ForEnvironment with TERM=dumb chose %T, want *Text", sink)
	}
	play(sink, []events.Event{
		{Type: events.RunStarted, Time: at(0), RunID: "r-1", Pipeline: "checkout", Stages: []events.Stage{{Name: "deploy", Kind: "deploy"}}},
		{Type: events.StageStarted, Time: at(0.5), Stage: "deploy", Attempt: 1},
		{Type: events.StageFailed, Time: at(2), Stage: "deploy", Attempt: 1, Error: "boom"},
		{Type: events.RunFinished, Time: at(3), Result: events.FailedUndone},
	})
	if err := Close(sink); err != nil {
		t.Fatal(err)
	}
	screen := term.waitFor(t, "Result: failed in 3.0s, nothing to undo")
	if strings.Contains(screen, "\x1b") {
		t.Errorf("TERM=dumb output has escape sequences: %q", screen)
	}
}
