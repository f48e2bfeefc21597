package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/words"
)

// lines turns events into the aligned one-line-per-transition text that the
// text, GitHub, GitLab and live renderers share:
//
//	12.3s  deploy_green     started (attempt 1)
//
// The first column is the time since the run started, the second the stage
// padded to the longest stage name of the graph, then what happened.
type lines struct {
	opts  Options
	red   events.Redactor
	m     *model
	width int // stage column
	prog  map[string]*progressMark
}

// progressMark remembers a stage's last printed progress line, for the rate
// limit, and the newest suppressed one, printed if the attempt then fails so
// the log says what it was waiting for (unless the error says it).
type progressMark struct {
	at      time.Time
	msg     string
	pending string
}

func newLines(opts Options) *lines {
	return &lines{opts: opts, red: events.NewRedactor(opts.Secrets), m: newModel(), width: 16, prog: map[string]*progressMark{}}
}

// line is one output line; stage is "" for run-level lines.
type line struct {
	stage string
	text  string
}

// format applies e to the model and returns the lines to print for it. The
// event is redacted first; the caller must not print e's fields itself.
func (l *lines) format(e events.Event) []line {
	e = l.red.Event(e)
	l.m.apply(e)
	at := l.m.clock(e)
	row := func(stage, what string) line {
		return line{stage, fmt.Sprintf("%7s  %-*s %s", dur(at), l.width, stage, what)}
	}
	col := func(st events.Status, text string) string { return paint(l.opts.Color, styleOf(st), text) }
	switch e.Type {
	case events.RunStarted:
		for _, s := range e.Stages {
			l.width = max(l.width, len(s.Name))
		}
		run := "run"
		if e.DryRun {
			run = "dry run" // nothing is written: say so before anything runs
		}
		started := "started"
		if e.Message == events.ResumeRun {
			started = "resumed"
		}
		what := fmt.Sprintf("pipeline %s: %s %s %s, %s", orDash(e.Pipeline), run, orDash(e.RunID), started, words.Count(len(e.Stages), "stage"))
		if e.Message == events.UndoRun {
			what = fmt.Sprintf("pipeline %s: undo of run %s started, %s", orDash(e.Pipeline), orDash(e.RunID), words.Count(len(e.Stages), "stage"))
		}
		return []line{{"", fmt.Sprintf("%7s  %s", dur(at), paint(l.opts.Color, ansiBold, what))}}
	case events.WaveStarted, events.WaveFinished:
		return []line{{"", fmt.Sprintf("%7s  %s", dur(at), paint(l.opts.Color, ansiBold, waveLine(e)))}}
	case events.DiagnosticEvent:
		return diagLines(e.Diagnostic, l.opts.Color)
	case events.RunFinished:
		return nil // the summary says it
	}
	if e.Stage == "" {
		return nil
	}
	l.width = max(l.width, len(e.Stage))
	s := l.m.stage(e.Stage)
	pm := l.prog[e.Stage]
	if pm == nil {
		pm = &progressMark{}
		l.prog[e.Stage] = pm
	}
	var out []line
	// A failed attempt first shows the last thing it was waiting for,
	// unless its error says it (a wait's "last seen: …").
	flush := func() {
		if pm.pending != "" && !strings.Contains(e.Error, pm.pending) {
			out = append(out, row(e.Stage, paint(l.opts.Color, ansiDim, "progress: "+oneLine(pm.pending))))
		}
		pm.pending = ""
	}
	switch e.Type {
	case events.StageStarted:
		*pm = progressMark{}
		what := "started"
		if e.Attempt > 0 || s.attempts > 0 {
			what += fmt.Sprintf(" (attempt %d)", max(e.Attempt, s.attempts))
		}
		out = append(out, row(e.Stage, what))
	case events.StageProgress:
		msg := e.Message
		if !l.progressDue(pm, e.Time, msg) {
			if msg != pm.msg {
				pm.pending = msg
			}
			return nil
		}
		*pm = progressMark{at: e.Time, msg: msg}
		out = append(out, row(e.Stage, paint(l.opts.Color, ansiDim, "progress: "+oneLine(msg))))
	case events.StageRetrying:
		flush()
		what := string(events.StatusRetrying)
		if e.Delay > 0 {
			what += " in " + shortDur(e.Delay)
		}
		out = append(out, row(e.Stage, col(events.StatusRetrying, what)+": "+oneLine(e.Error)))
	case events.StageSucceeded:
		pm.pending = ""
		what := col(events.StatusSucceeded, "succeeded") + " in " + dur(s.duration())
		if e.Message != "" {
			what = col(events.StatusSucceeded, "succeeded") + reason(e.Message)
		}
		if s.attempts > 1 {
			what += fmt.Sprintf(" (%d attempts)", s.attempts)
		}
		out = append(out, row(e.Stage, what))
	case events.StageFailed:
		flush()
		what := col(events.StatusFailed, "failed")
		if s.attempts > 1 {
			what += fmt.Sprintf(" after %d attempts", s.attempts)
		}
		out = append(out, row(e.Stage, what+": "+oneLine(e.Error)))
	case events.StageSkipped:
		out = append(out, row(e.Stage, col(events.StatusSkipped, "skipped")+reason(e.Message)))
	case events.StageCancelled:
		flush()
		out = append(out, row(e.Stage, col(events.StatusCancelled, "cancelled")+reason(e.Message)))
	case events.UndoStarted:
		out = append(out, row(e.Stage, "undo started"+reason(e.Message)))
	case events.UndoSucceeded:
		out = append(out, row(e.Stage, col(events.StatusUndone, "undone")+" in "+dur(s.undoDur)))
	case events.UndoFailed:
		out = append(out, row(e.Stage, col(events.StatusUndoFailed, "undo failed")+": "+oneLine(e.Error)))
	default:
		// A type added to the contract later still gets a line.
		out = append(out, row(e.Stage, string(e.Type)+reason(e.Message)))
	}
	return out
}

// waveLine says a wave of a run with targets started or ended:
//
//	wave rest started: eu, us
//	wave rest failed: eu, us: 1 target failed: us: …
//	wave rest undo started: us, eu
//	wave rest undone: us; nothing to undo on eu: no journal for run R
func waveLine(e events.Event) string {
	what := "started"
	switch {
	case e.Type == events.WaveFinished:
		what = string(e.Result)
	case e.Message == events.UndoRun:
		what = "undo started"
	}
	out := fmt.Sprintf("wave %s %s: %s", e.Wave, what, strings.Join(e.Targets, ", "))
	if e.Type == events.WaveFinished && e.Message != "" {
		// An undo's targets with nothing to undo.
		if len(e.Targets) == 0 {
			out = "wave " + e.Wave + ": " + e.Message
		} else {
			out += "; " + e.Message
		}
	}
	if e.Error != "" {
		out += ": " + oneLine(e.Error)
	}
	return out
}

// progressDue applies the rate limit: a message with a new shape at once;
// one of the same shape, whose numbers alone moved, at most once per
// ProgressEvery when they are what the stage waits for (its first clause,
// up to "; ": "3 of 10 updated replicas are available"), and once per
// ReasonEvery when only why it waits moved (what follows: a crash-looping
// pod's restarts), with the newest numbers then; an identical one never.
// Another pod or another reason is another shape, said at once.
func (l *lines) progressDue(pm *progressMark, at time.Time, msg string) bool {
	switch {
	case pm.msg == "":
		return true
	case msg == pm.msg:
		return false
	case shape(msg) != shape(pm.msg):
		return true
	}
	every := l.opts.progressEvery()
	if waitsFor(msg) == waitsFor(pm.msg) {
		every = max(every, l.opts.reasonEvery())
	}
	return at.IsZero() || pm.at.IsZero() || at.Sub(pm.at) >= every
}

// waitsFor is the first clause of a progress message, what the stage
// waits for; the clauses after it say why it is not done yet
// ("deployment/web: 0 of 2 updated replicas are available; pod web-1
// CrashLoopBackOff: …", kube.Stuck's).
func waitsFor(msg string) string {
	what, _, _ := strings.Cut(msg, "; ")
	return what
}

func reason(msg string) string {
	if msg = oneLine(msg); msg == "" {
		return ""
	}
	return ": " + msg
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// diagLines prints a diagnostic compiler-style, "file:line,col", which
// editors and CI log viewers turn into links.
func diagLines(d *events.Diagnostic, color bool) []line {
	if d == nil {
		return nil
	}
	sev := d.Severity
	if sev == "" {
		sev = "error"
	}
	head := paint(color, map[string]string{"error": ansiRed, "warning": ansiYellow}[sev], sev)
	pos := ""
	if d.File != "" {
		pos = d.File
		if d.Line > 0 {
			pos += fmt.Sprintf(":%d", d.Line)
			if d.Column > 0 {
				pos += fmt.Sprintf(",%d", d.Column)
			}
		}
		pos += ": "
	}
	out := []line{{"", head + ": " + pos + oneLine(d.Summary)}}
	for _, l := range strings.Split(strings.TrimSpace(d.Detail), "\n") {
		if l != "" {
			out = append(out, line{"", "    " + l})
		}
	}
	return out
}

// summary is the block printed when the run finishes: each stage with its
// result and duration, the run's result, its outputs, and what is left for a
// person when the undo is incomplete.
func (l *lines) summary() []string {
	m := l.m
	c := l.opts.Color
	title := "Summary"
	if m.pipeline != "" || m.id != "" {
		title += fmt.Sprintf(" (pipeline %s, run %s)", orDash(m.pipeline), orDash(m.id))
	}
	out := []string{"", paint(c, ansiBold, title)}
	for _, n := range m.order {
		s := m.stages[n]
		res := string(s.status)
		d := ""
		// No duration for a stage this stream saw only listed (an undo's
		// list gives the journal's status, not when the stage ran).
		ran := !s.start.IsZero() || s.elapsed > 0
		if ran && (s.status == events.StatusSucceeded || s.status == events.StatusFailed || s.status == events.StatusCancelled) {
			d = dur(s.duration())
		}
		note := ""
		switch {
		case s.status == events.StatusFailed:
			note = oneLine(s.err)
		case s.reason != "":
			note = oneLine(s.reason)
		}
		if s.attempts > 1 {
			note = strings.TrimSuffix(fmt.Sprintf("%d attempts; %s", s.attempts, note), "; ")
		}
		switch s.undo {
		case events.StatusUndone:
			note = strings.TrimPrefix(note+"; undone", "; ")
		case events.StatusUndoFailed:
			note = strings.TrimPrefix(note+"; undo failed: "+oneLine(s.undoErr), "; ")
		case events.StatusUndoing:
			note = strings.TrimPrefix(note+"; undo did not finish", "; ")
		}
		out = append(out, strings.TrimRight(fmt.Sprintf("  %-*s  %s%s  %8s  %s", l.width, n,
			paint(c, styleOf(s.status), res), strings.Repeat(" ", max(0, 9-len(res))), d, note), " "))
	}
	if m.finished {
		res, tail := m.ending.Words()
		if res == "" {
			res = "unknown"
		}
		out = append(out, fmt.Sprintf("Result: %s in %s%s", paint(c, ansiBold+resultStyle(m.result), res), dur(m.runDuration()), tail))
		if m.err != "" {
			out = append(out, "Error: "+oneLine(m.err))
		}
		if m.note != "" {
			out = append(out, "Note: "+oneLine(m.note))
		}
	} else if len(m.diags) > 0 {
		out = append(out, "Result: "+paint(c, ansiRed, "invalid")+fmt.Sprintf(" (%d diagnostics)", len(m.diags)))
	}
	if outs := OutputLines(m.outputs); len(outs) > 0 {
		out = append(out, m.outputsTitle()+":")
		for _, o := range outs {
			out = append(out, "  "+o)
		}
	}
	if len(m.undoPending) > 0 {
		out = append(out, paint(c, ansiRed, "Left for a person:"))
		for _, p := range m.undoPending {
			out = append(out, "  - "+oneLine(p))
		}
	}
	return out
}
