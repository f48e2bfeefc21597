package report

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cutoverhq/cutover/events"
)

// GitHub renders for GitHub Actions: the text lines with each stage's detail
// folded into a ::group:: when it ends (see grouped), ::error annotations
// pointing at the failing stage's block and at diagnostics, the markdown
// report appended to $GITHUB_STEP_SUMMARY, and the step outputs result,
// run-id and outputs written to $GITHUB_OUTPUT.
type GitHub struct {
	mu        sync.Mutex
	w         io.Writer
	g         *grouped
	output    string // $GITHUB_OUTPUT
	summary   string // $GITHUB_STEP_SUMMARY
	workspace string // $GITHUB_WORKSPACE, to make annotation paths relative
	done      bool
	err       error
}

// NewGitHub returns the GitHub Actions renderer. env reads the runner's
// variables (os.Getenv). The secrets are registered with ::add-mask:: here,
// before anything else is written, so the runner hides them even in output
// cutover does not control (a command's stderr).
func NewGitHub(w io.Writer, env func(string) string, opts Options) *GitHub {
	h := &GitHub{w: w, output: env("GITHUB_OUTPUT"), summary: env("GITHUB_STEP_SUMMARY"), workspace: env("GITHUB_WORKSPACE")}
	h.g = &grouped{
		l:   newLines(opts),
		buf: map[string][]string{},
		open: func(b *strings.Builder, _ *stage, title string, _ bool) {
			b.WriteString("::group::" + strings.TrimSpace(title) + "\n")
		},
		close: func(b *strings.Builder, _ *stage) { b.WriteString("::endgroup::\n") },
		fix:   defuse,
	}
	var b strings.Builder
	for _, s := range events.SecretParts(opts.Secrets) {
		b.WriteString("::add-mask::" + escapeData(s) + "\n")
	}
	h.write(b.String())
	return h
}

// defuse keeps a printed line from being read as a workflow command: the
// runner acts on lines that start with "::", and an error message or a
// progress text is not ours to trust.
func defuse(s string) string {
	if t := strings.TrimLeft(s, " \t"); strings.HasPrefix(t, "::") {
		return s[:len(s)-len(t)] + ": :" + t[2:]
	}
	return s
}

// escapeData and escapeProp follow the workflow command encoding: the data
// part keeps one line, properties also keep their separators.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// Emit renders e.
func (h *GitHub) Emit(e events.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.g.l.m
	var b strings.Builder
	if e.Type != events.DiagnosticEvent { // the annotation is the diagnostic's line
		b.WriteString(h.g.format(e))
	} else {
		e = h.g.l.red.Event(e)
		m.apply(e)
	}
	switch e.Type {
	case events.DiagnosticEvent:
		if d := e.Diagnostic; d != nil {
			props := h.pos(d.File, d.Line, d.Column, d.EndLine, d.EndCol)
			b.WriteString(h.annotation(d.Severity, props, d.Summary, strings.TrimSpace(d.Summary+"\n"+d.Detail)))
		}
	case events.StageFailed:
		s := m.stage(e.Stage)
		title := fmt.Sprintf("cutover: stage %s failed", e.Stage)
		b.WriteString(h.annotation("error", h.pos(s.file, s.line, 0, 0, 0), title, s.err))
	case events.UndoFailed:
		s := m.stage(e.Stage)
		title := fmt.Sprintf("cutover: undo of stage %s failed", e.Stage)
		b.WriteString(h.annotation("error", h.pos(s.file, s.line, 0, 0, 0), title, s.undoErr+"\nThe change is still in the cluster: a person has to restore it."))
	case events.RunFinished:
		for _, s := range h.g.l.summary() {
			b.WriteString(defuse(s) + "\n")
		}
		if len(m.undoPending) > 0 {
			b.WriteString(h.annotation("error", nil, "cutover: undo incomplete", "Left for a person:\n- "+strings.Join(m.undoPending, "\n- ")))
		}
		h.write(b.String())
		h.finish()
		return
	}
	h.write(b.String())
}

// pos is the annotation position; paths under the workspace are made
// relative to it, as GitHub resolves them against the repository root.
func (h *GitHub) pos(file string, line, col, endLine, endCol int) []string {
	if file == "" {
		return nil
	}
	if filepath.IsAbs(file) && h.workspace != "" {
		if rel, err := filepath.Rel(h.workspace, file); err == nil && !strings.HasPrefix(rel, "..") {
			file = filepath.ToSlash(rel)
		}
	}
	p := []string{"file=" + escapeProp(file)}
	for _, kv := range []struct {
		k string
		v int
	}{{"line", line}, {"col", col}, {"endLine", endLine}, {"endColumn", endCol}} {
		if kv.v > 0 {
			p = append(p, fmt.Sprintf("%s=%d", kv.k, kv.v))
		}
	}
	return p
}

func (h *GitHub) annotation(severity string, props []string, title, msg string) string {
	cmd := "error"
	switch severity {
	case "warning":
		cmd = "warning"
	case "notice", "info":
		cmd = "notice"
	}
	props = append(props, "title="+escapeProp(title))
	return "::" + cmd + " " + strings.Join(props, ",") + "::" + escapeData(msg) + "\n"
}

// finish writes the step summary and the outputs, once.
func (h *GitHub) finish() {
	if h.done {
		return
	}
	h.done = true
	m := h.g.l.m
	if h.summary != "" {
		f, err := os.OpenFile(h.summary, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			err = writeMarkdown(f, m)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		h.fail(err, "GITHUB_STEP_SUMMARY")
	}
	if h.output != "" {
		result := string(m.result)
		if result == "" && len(m.diags) > 0 {
			result = "invalid"
		}
		kv := [][2]string{{"result", result}, {"run-id", m.id}, {"outputs", compactOutputs(m.outputs)}}
		if m.dryRun {
			kv = append(kv, [2]string{"dry-run", "true"}) // result and outputs are a rehearsal's
		}
		h.fail(appendOutputs(h.output, kv), "GITHUB_OUTPUT")
	}
}

// GitHubOutputs writes a pipeline's outputs (RunFinished.Outputs: sensitive
// ones masked already) as the step output "outputs", as a run does, when
// running in GitHub Actions with $GITHUB_OUTPUT set: `cutover join`'s,
// which prints them without a run's renderers.
func GitHubOutputs(env func(string) string, outputs json.RawMessage) error {
	path := env("GITHUB_OUTPUT")
	if env("GITHUB_ACTIONS") != "true" || path == "" {
		return nil
	}
	if err := appendOutputs(path, [][2]string{{"outputs", compactOutputs(outputs)}}); err != nil {
		return fmt.Errorf("GITHUB_OUTPUT: %w", err)
	}
	return nil
}

// GitHubNotStarted reports, when running in GitHub Actions, a run that
// stopped before its reports were written (the lock held, say): an
// ::error annotation titled title with msg, which shows on the run's page,
// and the step output result, so that a later step can tell "another
// release is running" from a failed one. No run-id (no run was created)
// and no summary (nothing ran).
func GitHubNotStarted(w io.Writer, env func(string) string, result, title, msg string) error {
	if env("GITHUB_ACTIONS") != "true" {
		return nil
	}
	h := &GitHub{}
	if _, err := io.WriteString(w, h.annotation("error", nil, title, msg)); err != nil {
		return err
	}
	if path := env("GITHUB_OUTPUT"); path != "" {
		if err := appendOutputs(path, [][2]string{{"result", result}}); err != nil {
			return fmt.Errorf("GITHUB_OUTPUT: %w", err)
		}
	}
	return nil
}

// appendOutputs appends step outputs, name and value, to the file
// $GITHUB_OUTPUT names.
func appendOutputs(path string, kv [][2]string) error {
	var b strings.Builder
	for _, o := range kv {
		writeOutput(&b, o[0], o[1])
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeOutput uses the heredoc form (name<<DELIM) for every value: it is the
// only form that carries any value, and the delimiter is random so that no
// value can end the block early and smuggle in another output.
func writeOutput(b *strings.Builder, name, value string) {
	var delim string
	for delim == "" || strings.Contains(value, delim) {
		r := make([]byte, 12)
		_, _ = rand.Read(r)
		delim = "CUTOVER_EOF_" + hex.EncodeToString(r)
	}
	fmt.Fprintf(b, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
}

func (h *GitHub) fail(err error, what string) {
	if err != nil && h.err == nil {
		h.err = fmt.Errorf("%s: %w", what, err)
	}
}

func (h *GitHub) write(s string) {
	if s == "" || h.err != nil {
		return
	}
	_, err := io.WriteString(h.w, s)
	h.fail(err, "output")
}

// Close writes the summary and outputs if the run ended without
// RunFinished (invalid input) and returns the first write error.
func (h *GitHub) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.finish()
	return h.err
}
