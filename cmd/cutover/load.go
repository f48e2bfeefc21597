package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/gcpace"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/report"
)

// load parses and prepares the pipeline at path with the command's
// variables. On any error it prints every diagnostic and returns nil.
func (c *cli) load(path string, o *options) (*engine.Program, bool) {
	p, cfg, diags := c.prepare(path, o)
	if len(diags) > 0 {
		c.printDiags(cfg, diags, o)
	}
	if diags.HasErrors() {
		return nil, false
	}
	return p, true
}

// prepare is load without printing: the program (nil when the pipeline
// block did not parse), the config and every diagnostic, for a command
// that says more about them (validate's verdict).
func (c *cli) prepare(path string, o *options) (*engine.Program, *config.Config, hcl.Diagnostics) {
	src := config.List(path)
	pace := gcpace.Start(src.Size())
	defer pace.Done()
	cfg, diags := src.Load(nil)
	pace.Parsed()
	var p *engine.Program
	if cfg != nil && cfg.Pipeline != nil {
		// Evaluate even a config with errors, so variables, durations and
		// step attributes are reported in the same pass; a problem already
		// reported at the same place is not repeated.
		var d hcl.Diagnostics
		p, d = engine.Prepare(cfg, engine.Inputs{Vars: o.vars, VarFiles: o.varFiles, Env: c.environ, Saved: o.saved, AllowMissing: o.lenient})
		diags = appendNew(diags, d)
		// A diagnostic can quote a value (a function's error names its
		// argument): sensitive values are hidden as in every other output.
		red := p.Redactor()
		for _, d := range diags {
			d.Summary, d.Detail = red.String(d.Summary), red.String(d.Detail)
		}
	}
	if h := cfg.SingleFileHint(diags); h != nil {
		diags = append(diags, h)
	}
	return p, cfg, diags
}

// countDiags counts diagnostics by severity: all of them, before any cap
// on how many are shown.
func countDiags(diags hcl.Diagnostics) (errs, warns int) {
	for _, d := range diags {
		switch d.Severity {
		case hcl.DiagError:
			errs++
		case hcl.DiagWarning:
			warns++
		}
	}
	return errs, warns
}

// appendNew adds the diagnostics of more whose subject no earlier error
// overlaps: a reference to an undeclared stage, say, also fails evaluation.
// Subjects are indexed by file and line, so a pipeline with an error in
// each of thousands of stages is not compared all against all.
func appendNew(diags, more hcl.Diagnostics) hcl.Diagnostics {
	had := diags.HasErrors()
	type line struct {
		file string
		n    int
	}
	byLine := map[line][]*hcl.Range{}
	index := func(d *hcl.Diagnostic) {
		if d.Subject == nil {
			return
		}
		for n := d.Subject.Start.Line; n <= d.Subject.End.Line; n++ {
			k := line{d.Subject.Filename, n}
			byLine[k] = append(byLine[k], d.Subject)
		}
	}
	if had {
		for _, d := range diags {
			index(d)
		}
	}
	for _, d := range more {
		dup := false
		if had && d.Subject != nil {
			for n := d.Subject.Start.Line; n <= d.Subject.End.Line && !dup; n++ {
				for _, r := range byLine[line{d.Subject.Filename, n}] {
					if r.Overlaps(*d.Subject) {
						dup = true
						break
					}
				}
			}
		}
		if !dup && (!had || d.Subject != nil) {
			diags = append(diags, d)
			if had {
				index(d)
			}
		}
	}
	return diags
}

// withSources adds to files those a diagnostic points into that the parser
// did not read (a chart's template, an overlay's YAML), so their lines are
// shown too. A file that cannot be read, is larger than a pipeline file may
// be, is not text, or whose line is too long to echo (the way a pipeline
// file refused for nesting looks) is left to "source code not available",
// as are the hidden files.
func withSources(files map[string]*hcl.File, hidden map[string]bool, diags hcl.Diagnostics) {
	for _, d := range diags {
		name := ""
		if d.Subject != nil {
			name = d.Subject.Filename
		}
		if name == "" || files[name] != nil || hidden[name] {
			continue
		}
		b, derr := config.ReadSource(name, "file")
		if derr != nil || !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
			continue
		}
		start, end := d.Subject.Start.Byte, d.Subject.End.Byte
		if start == 0 && end == 0 {
			// Placed by line and column only: the writer finds lines by offset.
			start = offsetOf(b, d.Subject.Start)
			end = max(offsetOf(b, d.Subject.End), start)
		}
		if lineLen(b, start) > maxShownLine {
			continue
		}
		files[name] = &hcl.File{Bytes: b}
		d.Subject.Start.Byte, d.Subject.End.Byte = start, end
	}
}

// maxShownLine bounds a line echoed under a diagnostic: a generated or
// minified file's single line would flood the terminal.
const maxShownLine = 1000

// lineLen is the length of the line holding byte offset off.
func lineLen(b []byte, off int) int {
	off = min(off, len(b))
	start := bytes.LastIndexByte(b[:off], '\n') + 1
	end := bytes.IndexByte(b[off:], '\n')
	if end < 0 {
		return len(b) - start
	}
	return off + end - start
}

// offsetOf is the byte offset of a 1-based line and column in b.
func offsetOf(b []byte, p hcl.Pos) int {
	off := 0
	for line := 1; line < p.Line && off < len(b); line++ {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return len(b)
		}
		off += i + 1
	}
	return min(off+max(p.Column-1, 0), len(b))
}

// printDiags renders diagnostics: with source and caret on stderr as text,
// as diagnostic events in JSON, and as annotations on GitHub.
func (c *cli) printDiags(cfg *config.Config, diags hcl.Diagnostics, o *options) {
	c.writeDiags(cfg, diags, o, "nothing was run")
}

// writeDiags is printDiags with what the errors left undone, said after
// their count in text.
func (c *cli) writeDiags(cfg *config.Config, diags hcl.Diagnostics, o *options, outcome string) {
	// Found in several passes (parse, decode, evaluation), shown in the
	// order of the source, which is the order a reader fixes them in, and
	// capped once over all of them, so the count left out is true.
	sort.SliceStable(diags, func(i, j int) bool { return diagBefore(diags[i], diags[j]) })
	errs, _ := countDiags(diags)
	diags, left := cfg.CapPerFile(diags)
	sort.SliceStable(diags, func(i, j int) bool { return !isHint(diags[i]) && isHint(diags[j]) })
	if o.output == "json" {
		enc := json.NewEncoder(c.stdout)
		for _, d := range diags {
			_ = enc.Encode(events.Event{Type: events.DiagnosticEvent, Time: time.Now(), Diagnostic: toEventDiag(d)})
		}
		return
	}
	// A variable file's lines are never echoed: they hold values, some
	// sensitive, and a value that does not parse is not known to be a
	// secret to mask. Its diagnostics keep their file:line:col.
	files := map[string]*hcl.File{}
	hidden := map[string]bool{}
	for _, f := range append(o.varFiles, cfg.VariableFiles()...) {
		hidden[f] = true
	}
	if cfg != nil {
		for name, f := range cfg.Parser.Files() {
			if !hidden[name] {
				files[name] = f
			}
		}
	}
	withSources(files, hidden, diags)
	color := false
	if f, ok := c.stderr.(interface{ Fd() uintptr }); ok && report.Colors(c.getenv) {
		color = term.IsTerminal(int(f.Fd()))
	}
	w := hcl.NewDiagnosticTextWriter(c.stderr, files, 100, color)
	for _, d := range diags {
		// file:line:col first, as compilers print it: editors and CI log
		// viewers turn it into a link; hcl's block with the source follows.
		if d.Subject != nil {
			fmt.Fprintf(c.stderr, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		_ = w.WriteDiagnostic(d)
	}
	if errs > 0 {
		count := words.Count(errs, "error")
		if left > 0 {
			count += fmt.Sprintf(" (%d not shown)", left)
		}
		fmt.Fprintf(c.stderr, "%s; %s.\n", count, outcome)
	}
	if c.getenv("GITHUB_ACTIONS") == "true" {
		// Annotations point at the line in the pull request's diff. Closing
		// the sink writes the step summary and outputs (result=invalid):
		// only when errors end the command here; after warnings alone it
		// goes on and writes its own.
		sink := c.sink(o, nil)
		for _, d := range diags {
			sink.Emit(events.Event{Type: events.DiagnosticEvent, Time: time.Now(), Diagnostic: toEventDiag(d)})
		}
		if errs > 0 {
			c.closeSink(sink)
		}
	}
}

func toEventDiag(d *hcl.Diagnostic) *events.Diagnostic {
	ed := &events.Diagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
	if d.Severity == hcl.DiagWarning {
		ed.Severity = "warning"
	}
	if d.Subject != nil {
		ed.File = filepath.ToSlash(d.Subject.Filename)
		ed.Line, ed.Column = d.Subject.Start.Line, d.Subject.Start.Column
		ed.EndLine, ed.EndCol = d.Subject.End.Line, d.Subject.End.Column
	}
	return ed
}

// pathArg returns the single PATH argument (default ".").
func (c *cli) pathArg(pos []string) (string, bool) {
	switch len(pos) {
	case 0:
		return ".", true
	case 1:
		return pos[0], true
	}
	c.errorf("expected one PATH, got %d: %v", len(pos), pos)
	return "", false
}

// isHint is whether d is advice on the diagnostics before it: it is shown
// last, after the note of those left out.
func isHint(d *hcl.Diagnostic) bool {
	_, ok := d.Extra.(config.Hint)
	return ok
}

func diagBefore(a, b *hcl.Diagnostic) bool {
	switch {
	case a.Subject == nil || b.Subject == nil:
		return a.Subject == nil && b.Subject != nil
	case a.Subject.Filename != b.Subject.Filename:
		return a.Subject.Filename < b.Subject.Filename
	}
	return a.Subject.Start.Byte < b.Subject.Start.Byte
}
