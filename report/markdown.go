package report

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/cutoverhq/cutover/events"
)

// Summary writes the markdown report of the run to a file when the run
// finishes (--summary FILE). The GitHub renderer appends the same report to
// $GITHUB_STEP_SUMMARY.
type Summary struct {
	mu      sync.Mutex
	path    string
	m       *model
	written bool
	late    bool // events came after the file was written
	err     error
}

// NewSummary returns a sink that writes the markdown report to path,
// replacing the file. Wrap it with events.Redact to mask secrets.
func NewSummary(path string) *Summary { return &Summary{path: path, m: newModel()} }

// Emit folds e in; RunFinished writes the file.
func (s *Summary) Emit(e events.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.apply(e)
	if e.Type == events.RunFinished {
		s.write()
	} else if s.written {
		s.late = true // a warning after the end (a notification not delivered)
	}
}

// Close writes the report if the run ended without RunFinished, or had
// events after it, and returns the write error.
func (s *Summary) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.written || s.late {
		s.write()
	}
	return s.err
}

func (s *Summary) write() {
	s.written = true
	f, err := os.Create(s.path)
	if err == nil {
		err = writeMarkdown(f, s.m)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		s.err = fmt.Errorf("summary %s: %w", s.path, err)
	}
}

// icon marks an outcome in the table, so a reader finds the failure at a
// glance; the word next to it stays for screen readers and plain viewers.
func icon(s events.Status) string {
	switch s {
	case events.StatusSucceeded, events.StatusUndone:
		return "✅ "
	case events.StatusFailed, events.StatusUndoFailed:
		return "❌ "
	case events.StatusSkipped, events.StatusCancelled, events.StatusPending:
		return "⏭️ "
	}
	return ""
}

// resultIcon marks the run's result in the headline, as resultStyle
// colors it.
func resultIcon(r events.Result) string {
	switch resultStyle(r) {
	case ansiGreen:
		return "✅ "
	case ansiRed:
		return "❌ "
	}
	return ""
}

// cell escapes text for a markdown table cell.
func cell(s string) string {
	s = strings.NewReplacer("|", `\|`, "\r", "", "\n", "<br>", "<", "&lt;", ">", "&gt;").Replace(strings.TrimSpace(s))
	if s == "" {
		return " "
	}
	return s
}

// writeMarkdown renders the report: headline with the result, a table of the
// stages, what is left for a person, the outputs and a mermaid graph of the
// run whose nodes are colored by outcome.
func writeMarkdown(w io.Writer, m *model) error {
	var b strings.Builder
	res, tail := m.ending.Words()
	res += tail
	switch {
	case res == "" && len(m.diags) > 0:
		res = "invalid"
	case res == "":
		res = "not finished"
	}
	fmt.Fprintf(&b, "## cutover: %s — %s%s\n\n", orDash(m.pipeline), resultIcon(m.result), res)
	if m.id != "" || m.finished {
		fmt.Fprintf(&b, "Run `%s` · %s\n\n", orDash(m.id), dur(m.runDuration()))
	}
	if m.err != "" {
		fmt.Fprintf(&b, "> **Error:** %s\n\n", cell(m.err))
	}
	if len(m.diags) > 0 {
		b.WriteString("| Severity | Where | Problem |\n|---|---|---|\n")
		for _, d := range m.diags {
			where := d.File
			if d.Line > 0 {
				where += fmt.Sprintf(":%d", d.Line)
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(d.Severity), cell(where), cell(strings.TrimSpace(d.Summary+"\n"+d.Detail)))
		}
		b.WriteString("\n")
	}
	if len(m.order) > 0 {
		b.WriteString("| Stage | Kind | Result | Duration | Attempts | Undo | Details |\n|---|---|---|---:|---:|---|---|\n")
		for _, n := range m.order {
			s := m.stages[n]
			d := ""
			if s.status == events.StatusSucceeded || s.status == events.StatusFailed || s.status == events.StatusCancelled {
				d = dur(s.duration())
			}
			undo := ""
			if s.undo != "" {
				undo = icon(s.undo) + string(s.undo)
				if s.undoMsg != "" {
					undo += " (" + s.undoMsg + ")"
				}
				if s.undoErr != "" {
					undo += ": " + s.undoErr
				}
			}
			detail := s.reason
			if s.status == events.StatusFailed {
				detail = s.err
			}
			attempts := ""
			if s.attempts > 0 {
				attempts = itoa(s.attempts)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s%s | %s | %s | %s | %s |\n", n, cell(s.kind), icon(s.status), s.status,
				cell(d), cell(attempts), cell(undo), cell(detail))
		}
		b.WriteString("\n")
	}
	if len(m.undoPending) > 0 {
		b.WriteString("### ⚠️ Left for a person\n\nThe undo is incomplete. These changes are still in the cluster:\n\n")
		for _, p := range m.undoPending {
			fmt.Fprintf(&b, "- %s\n", cell(p))
		}
		b.WriteString("\n")
	}
	if outs := parseOutputs(m.outputs); len(outs) > 0 {
		b.WriteString("<details><summary>" + m.outputsTitle() + "</summary>\n\n| Output | Value |\n|---|---|\n")
		for _, o := range outs {
			fmt.Fprintf(&b, "| `%s` | %s |\n", o.name, cell(o.shown()))
		}
		b.WriteString("\n</details>\n\n")
	}
	if len(m.order) > 0 {
		writeMermaid(&b, m)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMermaid draws the graph of the run. Node ids are positional (s0, s1…)
// so that no stage name needs escaping in mermaid syntax.
func writeMermaid(b *strings.Builder, m *model) {
	id := map[string]string{}
	for i, n := range m.order {
		id[n] = fmt.Sprintf("s%d", i)
	}
	b.WriteString("```mermaid\nflowchart LR\n")
	for _, n := range m.order {
		s := m.stages[n]
		label := n + "<br/>" + string(s.status)
		if s.status == events.StatusSucceeded || s.status == events.StatusFailed {
			label += " " + dur(s.duration())
		}
		class := string(s.status)
		switch s.undo {
		case events.StatusUndone:
			label, class = label+"<br/>undone", "undone"
		case events.StatusUndoFailed:
			label, class = label+"<br/>undo failed", "undofailed"
		}
		fmt.Fprintf(b, "  %s[\"%s\"]:::%s\n", id[n], strings.ReplaceAll(label, `"`, "#quot;"), class)
	}
	for _, n := range m.order {
		for _, d := range m.stages[n].dependsOn {
			if from, ok := id[d]; ok {
				fmt.Fprintf(b, "  %s --> %s\n", from, id[n])
			}
		}
	}
	b.WriteString(`  classDef succeeded fill:#dafbe1,stroke:#1a7f37,color:#1a7f37
  classDef failed fill:#ffebe9,stroke:#cf222e,color:#cf222e
  classDef undofailed fill:#ffebe9,stroke:#cf222e,stroke-width:3px,color:#cf222e
  classDef undone fill:#fff8c5,stroke:#9a6700,color:#9a6700
  classDef skipped fill:#f6f8fa,stroke:#8c959f,color:#57606a,stroke-dasharray:4
  classDef cancelled fill:#f6f8fa,stroke:#9a6700,color:#57606a,stroke-dasharray:4
  classDef pending fill:#f6f8fa,stroke:#8c959f,color:#57606a
  classDef running fill:#ddf4ff,stroke:#0969da,color:#0969da
  classDef retrying fill:#ddf4ff,stroke:#9a6700,color:#0969da
`)
	b.WriteString("```\n")
}
