package report

import (
	"strings"
	"time"

	"github.com/cutoverhq/cutover/events"
)

// grouped is the log layout shared by the GitHub and GitLab renderers, whose
// collapsible groups are positions in one linear log: a group opened for one
// stage would swallow the lines of every stage running in parallel with it.
// So a stage's detail (every attempt's start, its progress, its retries) is
// buffered, and printed as one group when the stage ends, with the end line
// as the group's title. Meanwhile short live lines ("started", "retrying")
// go outside any group so the log shows what is in flight. Skipped stages,
// undo and run-level lines are never grouped.
type grouped struct {
	l   *lines
	buf map[string][]string
	// open and close write a group's markers around its lines; s is the
	// stage, title its end line, start/end the times the group spans.
	open  func(b *strings.Builder, s *stage, title string, failed bool)
	close func(b *strings.Builder, s *stage)
	// fix makes a line of user-controlled text safe to print (GitHub reads
	// lines starting with "::" as commands).
	fix func(string) string
}

func (g *grouped) format(e events.Event) string {
	var b strings.Builder
	out := g.l.format(e)
	put := func(s string) { b.WriteString(g.fix(s) + "\n") }
	switch e.Type {
	case events.StageStarted, events.StageRetrying:
		for _, ln := range out {
			g.buf[ln.stage] = append(g.buf[ln.stage], ln.text)
			put(ln.text)
		}
	case events.StageProgress:
		for _, ln := range out {
			g.buf[ln.stage] = append(g.buf[ln.stage], ln.text)
		}
	case events.StageSucceeded, events.StageFailed, events.StageCancelled:
		if len(out) == 0 {
			break
		}
		title := out[len(out)-1].text
		detail := append(g.buf[e.Stage], textsOf(out[:len(out)-1])...)
		delete(g.buf, e.Stage)
		if len(detail) <= 1 {
			// Only the start line, already printed live: a group would
			// hide nothing worth hiding.
			put(title)
			break
		}
		s := g.l.m.stage(e.Stage)
		g.open(&b, s, g.fix(title), e.Type != events.StageSucceeded)
		for _, d := range detail {
			put(d)
		}
		g.close(&b, s)
	default:
		for _, ln := range out {
			put(ln.text)
		}
	}
	return b.String()
}

func textsOf(ls []line) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.text
	}
	return out
}

// unix is t as seconds, or now when the producer left it zero.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return time.Now().Unix()
	}
	return t.Unix()
}
