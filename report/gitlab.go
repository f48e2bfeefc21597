package report

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/cutoverhq/cutover/events"
)

// GitLab renders for GitLab CI: the text lines with each stage's detail in a
// collapsible section printed when the stage ends (see grouped; collapsed
// when it succeeded, open when it failed), and the run's outputs as a dotenv
// file for artifacts:reports:dotenv (CUTOVER_RESULT, CUTOVER_RUN_ID,
// CUTOVER_OUTPUT_<NAME>). The JUnit report is a separate sink (--junit).
type GitLab struct {
	mu     sync.Mutex
	w      io.Writer
	g      *grouped
	dotenv string
	done   bool
	err    error
}

// NewGitLab returns the GitLab CI renderer. The dotenv path is
// opts.Dotenv, else $CUTOVER_DOTENV; without either no file is written.
func NewGitLab(w io.Writer, env func(string) string, opts Options) *GitLab {
	l := &GitLab{w: w, dotenv: opts.Dotenv}
	if l.dotenv == "" {
		l.dotenv = env("CUTOVER_DOTENV")
	}
	l.g = &grouped{
		l:   newLines(opts),
		buf: map[string][]string{},
		open: func(b *strings.Builder, s *stage, title string, failed bool) {
			collapsed := ""
			if !failed {
				collapsed = "[collapsed=true]"
			}
			fmt.Fprintf(b, "\x1b[0Ksection_start:%d:%s%s\r\x1b[0K%s\n", unix(s.start), sectionName(s.name), collapsed, title)
		},
		close: func(b *strings.Builder, s *stage) {
			fmt.Fprintf(b, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", unix(s.end), sectionName(s.name))
		},
		fix: func(s string) string { return s },
	}
	return l
}

var notSectionChar = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)

// sectionName is a stage's section id; GitLab accepts [a-zA-Z0-9_.-] only.
func sectionName(stage string) string {
	return "cutover_" + notSectionChar.ReplaceAllString(stage, "_")
}

// Emit renders e.
func (l *GitLab) Emit(e events.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.g.format(e)
	if e.Type == events.RunFinished {
		var b strings.Builder
		for _, ln := range l.g.l.summary() {
			b.WriteString(ln + "\n")
		}
		s += b.String()
	}
	if s != "" && l.err == nil {
		_, l.err = io.WriteString(l.w, s)
	}
	if e.Type == events.RunFinished {
		l.finish()
	}
}

var notEnvChar = regexp.MustCompile(`[^A-Z0-9_]`)

// dotenvKey is CUTOVER_OUTPUT_<NAME>: upper case, and anything GitLab does
// not accept in a variable name (ASCII letters, digits, _) becomes "_".
func dotenvKey(name string) string {
	return "CUTOVER_OUTPUT_" + notEnvChar.ReplaceAllString(strings.ToUpper(name), "_")
}

// dotenvValue fits a value into GitLab's dotenv: one line, no quoting
// (GitLab keeps quotes as they are). Newlines become the two characters \n.
func dotenvValue(v string) string {
	return strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(v)
}

func (l *GitLab) finish() {
	if l.done || l.dotenv == "" {
		return
	}
	l.done = true
	m := l.g.l.m
	result := string(m.result)
	if result == "" && len(m.diags) > 0 {
		result = "invalid"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CUTOVER_RESULT=%s\nCUTOVER_RUN_ID=%s\n", dotenvValue(result), dotenvValue(m.id))
	if m.dryRun {
		b.WriteString("CUTOVER_DRY_RUN=true\n") // result and outputs are a rehearsal's
	}
	for _, o := range parseOutputs(m.outputs) {
		fmt.Fprintf(&b, "%s=%s\n", dotenvKey(o.name), dotenvValue(o.value))
	}
	if err := os.WriteFile(l.dotenv, []byte(b.String()), 0o644); err != nil && l.err == nil {
		l.err = fmt.Errorf("dotenv %s: %w", l.dotenv, err)
	}
}

// Close writes the dotenv file if the run ended without RunFinished and
// returns the first write error.
func (l *GitLab) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.finish()
	return l.err
}
