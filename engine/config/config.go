// Package config is the source representation of a pipeline: every block of
// every .hcl file of a directory, decoded and checked without evaluating
// anything that needs a variable's value or a stage's output. Evaluation
// lives in package engine.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/cutoverhq/cutover/engine/parallel"
	"github.com/cutoverhq/cutover/steps"
)

// Config is a whole pipeline.
type Config struct {
	// Dir is the pipeline directory: file() and templatefile() and relative
	// paths in steps resolve against it.
	Dir string
	// Parser holds the parsed files, for rendering diagnostics with source.
	Parser *hclparse.Parser
	Files  []string

	Pipeline  *Pipeline
	Defaults  *Defaults // nil: no defaults block
	Variables map[string]*Variable
	Locals    map[string]*Local
	Analyses  map[string]*Analysis
	Stages    map[string]*Stage
	Outputs   map[string]*Output
	Notify    []*Notify // in declaration order
	// Targets are the clusters every stage runs against, once each
	// (none: the one cluster of the command line); Waves order them.
	Targets     map[string]*Target
	TargetOrder []string
	Waves       []*Wave

	// StageOrder, VariableOrder and OutputOrder keep declaration order, for
	// stable output.
	StageOrder    []string
	VariableOrder []string
	OutputOrder   []string

	Registry *steps.Registry

	schemas *stageSchemas
	// unparsed holds the files the parser found errors in: when one has
	// too many to show, it may not be pipeline source at all.
	unparsed map[string]bool
	// varFiles are the files that look like variables files.
	varFiles []string
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "pipeline", LabelNames: []string{"name"}},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "defaults"},
		{Type: "analysis", LabelNames: []string{"name"}},
		{Type: "stage", LabelNames: []string{"name"}},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "notify", LabelNames: []string{"name"}},
		{Type: "target", LabelNames: []string{"name"}},
		{Type: "wave", LabelNames: []string{"name"}},
	},
}

// Load parses PATH — a directory (all its .hcl files) or one .hcl file — and
// decodes it. All problems are returned together; a nil Config means the
// files could not be read at all.
func Load(path string, reg *steps.Registry) (*Config, hcl.Diagnostics) {
	return List(path).Load(reg)
}

// Listing is the pipeline files at a path, listed once: a command that
// paces the collector by their size (internal/gcpace) loads the files it
// sized.
type Listing struct {
	files []string
	dir   string
	err   error
}

// List lists the files Load reads at path; an error is Load's to report.
func List(path string) Listing {
	files, dir, err := pipelineFiles(path)
	return Listing{files: files, dir: dir, err: err}
}

// Size is how many bytes of pipeline source the listing holds; 0 when it
// cannot tell (Load says why).
func (l Listing) Size() int64 {
	var n int64
	for _, f := range l.files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// Load is config.Load of the listed files.
func (l Listing) Load(reg *steps.Registry) (*Config, hcl.Diagnostics) {
	if reg == nil {
		reg = steps.Default
	}
	if l.err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read pipeline", Detail: l.err.Error()}}
	}
	files, dir := l.files, l.dir
	p := hclparse.NewParser()
	var diags hcl.Diagnostics
	var bodies []*hcl.File
	unparsed := map[string]bool{}
	for _, f := range files {
		// Read and vetted here, not by ParseHCLFile: a binary, huge or
		// absurdly nested file gets one diagnostic and never reaches the
		// parser (see CheckSource).
		src, d := ReadSource(f, "pipeline file")
		if d != nil {
			diags = append(diags, d)
			continue
		}
		file, pd := parseFile(p, src, f)
		diags = append(diags, pd...)
		unparsed[f] = pd.HasErrors()
		if file != nil {
			bodies = append(bodies, file)
		}
	}
	cfg := &Config{
		Dir: dir, Parser: p, Files: files, Registry: reg,
		Variables: map[string]*Variable{}, Locals: map[string]*Local{},
		Analyses: map[string]*Analysis{}, Stages: map[string]*Stage{}, Outputs: map[string]*Output{},
		Targets: map[string]*Target{}, schemas: newStageSchemas(reg), unparsed: unparsed,
	}
	for _, f := range bodies {
		diags = append(diags, cfg.addFile(f)...)
	}
	diags = append(diags, cfg.varFileHints(diags)...)
	if cfg.Pipeline == nil && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing pipeline block",
			Detail:   fmt.Sprintf("No file in %s declares a pipeline \"NAME\" { } block.", dir),
		})
	}
	diags = append(diags, cfg.checkReferences()...)
	diags = append(diags, cfg.checkWaves()...)
	return cfg, diags
}

// MaxDiagnosticsPerFile bounds the errors reported for one file. A file
// that is not pipeline source at all (random text, another language) makes
// the parser report dozens, each quoting a line of it; the first few say
// everything a person can act on.
const MaxDiagnosticsPerFile = 10

// CapPerFile keeps the first MaxDiagnosticsPerFile errors of each file and
// says how many more there were; left is that count, over all files. It is
// applied once, to everything a command is about to print (Load's and
// evaluation's together), so the count it states is the count left out.
// c may be nil (no pipeline read).
func (c *Config) CapPerFile(diags hcl.Diagnostics) (kept hcl.Diagnostics, left int) {
	var unparsed map[string]bool
	if c != nil {
		unparsed = c.unparsed
	}
	return capPerFile(diags, MaxDiagnosticsPerFile, unparsed)
}

// capPerFile keeps the first max errors of each file, in the order given,
// and says how many more there were (left, in all); warnings and
// diagnostics without a file are kept. Of a file the parser found errors
// in (unparsed), it asks whether it is pipeline source at all.
func capPerFile(diags hcl.Diagnostics, max int, unparsed map[string]bool) (kept hcl.Diagnostics, left int) {
	seen := map[string]int{}
	var over []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError || d.Subject == nil {
			kept = append(kept, d)
			continue
		}
		f := d.Subject.Filename
		seen[f]++
		switch {
		case seen[f] <= max:
			kept = append(kept, d)
		case seen[f] == max+1:
			over = append(over, f)
		}
	}
	for _, f := range over {
		detail := fmt.Sprintf("%s has %d more errors, not shown; the first %d are above.", f, seen[f]-max, max)
		if unparsed[f] {
			detail += " Is it pipeline source?"
		}
		left += seen[f] - max
		kept = append(kept, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Too many errors",
			Detail:  detail,
			Subject: &hcl.Range{Filename: f, Start: hcl.InitialPos, End: hcl.InitialPos},
		})
	}
	return kept, left
}

func pipelineFiles(path string) (files []string, dir string, err error) {
	if path == "" {
		path = "."
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	if !st.IsDir() {
		abs, _ := filepath.Abs(filepath.Dir(path))
		return []string{path}, abs, nil
	}
	files, err = hclFiles(path)
	if err != nil {
		return nil, "", err
	}
	if len(files) == 0 {
		return nil, "", fmt.Errorf("%s holds no .hcl files", path)
	}
	abs, _ := filepath.Abs(path)
	return files, abs, nil
}

// hclFiles lists the pipeline files of directory dir, sorted: its .hcl
// files, not hidden ones.
func hclFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".hcl") && !strings.HasPrefix(e.Name(), ".") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

func (c *Config) addFile(f *hcl.File) hcl.Diagnostics {
	content, diags := f.Body.Content(rootSchema)
	stages := c.decodeStages(content.Blocks)
	for i, b := range content.Blocks {
		switch b.Type {
		case "pipeline":
			p, d := decodePipelineBlock(b)
			diags = append(diags, d...)
			if c.Pipeline != nil {
				diags = append(diags, duplicate("pipeline", "", c.Pipeline.DeclRange, b.DefRange))
				continue
			}
			c.Pipeline = p
		case "variable":
			v, d := decodeVariableBlock(b)
			diags = append(diags, d...)
			if prev, dup := c.Variables[v.Name]; dup {
				diags = append(diags, duplicate("variable", v.Name, prev.DeclRange, b.DefRange))
				continue
			}
			c.Variables[v.Name] = v
			c.VariableOrder = append(c.VariableOrder, v.Name)
		case "defaults":
			d, dd := decodeDefaultsBlock(b)
			diags = append(diags, dd...)
			if c.Defaults != nil {
				diags = append(diags, duplicate("defaults block", "", c.Defaults.DeclRange, b.DefRange))
				continue
			}
			c.Defaults = d
		case "locals":
			ls, d := decodeLocalsBlock(b)
			diags = append(diags, d...)
			for _, l := range ls {
				if prev, dup := c.Locals[l.Name]; dup {
					diags = append(diags, duplicate("local value", l.Name, prev.DeclRange, l.DeclRange))
					continue
				}
				c.Locals[l.Name] = l
			}
		case "analysis":
			a, d := decodeAnalysisBlock(b, c.Registry)
			diags = append(diags, d...)
			if prev, dup := c.Analyses[a.Name]; dup {
				diags = append(diags, duplicate("analysis", a.Name, prev.DeclRange, b.DefRange))
				continue
			}
			c.Analyses[a.Name] = a
		case "stage":
			s, d := stages[i].stage, stages[i].diags
			diags = append(diags, d...)
			if s == nil {
				continue
			}
			if prev, dup := c.Stages[s.Name]; dup {
				diags = append(diags, duplicate("stage", s.Name, prev.DeclRange, b.DefRange))
				continue
			}
			c.Stages[s.Name] = s
			c.StageOrder = append(c.StageOrder, s.Name)
		case "output":
			o, d := decodeOutputBlock(b)
			diags = append(diags, d...)
			if prev, dup := c.Outputs[o.Name]; dup {
				diags = append(diags, duplicate("output", o.Name, prev.DeclRange, b.DefRange))
				continue
			}
			c.Outputs[o.Name] = o
			c.OutputOrder = append(c.OutputOrder, o.Name)
		case "notify":
			diags = append(diags, c.addNotify(b)...)
		case "target":
			t, d := decodeTargetBlock(b)
			diags = append(diags, d...)
			if prev, dup := c.Targets[t.Name]; dup {
				diags = append(diags, duplicate("target", t.Name, prev.DeclRange, b.DefRange))
				continue
			}
			c.Targets[t.Name] = t
			c.TargetOrder = append(c.TargetOrder, t.Name)
		case "wave":
			w, d := decodeWaveBlock(b)
			diags = append(diags, d...)
			for _, prev := range c.Waves {
				if prev.Name == w.Name {
					diags = append(diags, duplicate("wave", w.Name, prev.DeclRange, b.DefRange))
				}
			}
			c.Waves = append(c.Waves, w)
		}
	}
	return diags
}

// decodedStage is a stage block decoded, with what was wrong with it.
type decodedStage struct {
	stage *Stage
	diags hcl.Diagnostics
}

// decodeStages decodes the stage blocks of blocks, at their index. Each
// stage is decoded on its own, so on every processor at once: a large
// pipeline is mostly stages (docs/design.md, "Targets").
func (c *Config) decodeStages(blocks hcl.Blocks) []decodedStage {
	out := make([]decodedStage, len(blocks))
	parallel.For(len(blocks), func(i int) bool {
		if blocks[i].Type == "stage" {
			out[i].stage, out[i].diags = decodeStageBlock(blocks[i], c.schemas)
		}
		return true
	})
	return out
}

func duplicate(what, name string, first, again hcl.Range) *hcl.Diagnostic {
	label := what
	if name != "" {
		label = fmt.Sprintf("%s %q", what, name)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + what,
		Detail:   fmt.Sprintf("A %s was already declared at %s. Names must be unique across all files of the pipeline.", label, first),
		Subject:  again.Ptr(),
	}
}

// validName reports a diagnostic when a block label is not an identifier;
// stage names appear in traversals, so they must be valid there.
func validName(kind, name string, r hcl.Range) hcl.Diagnostics {
	if !plainIdentifier(name) && !hclsyntax.ValidIdentifier(name) {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + kind + " name",
			Detail:   fmt.Sprintf("%q is not a valid name: use letters, digits, underscores and dashes, starting with a letter.", name),
			Subject:  r.Ptr(),
		}}
	}
	return nil
}

// plainIdentifier reports whether name is an ASCII letter or underscore
// followed by ASCII letters, digits, underscores and dashes: an identifier
// to HCL, known without running its lexer over the name as
// hclsyntax.ValidIdentifier does (for every stage of a pipeline). False
// says nothing: the name may still be an identifier.
func plainIdentifier(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case i > 0 && ('0' <= c && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return name != ""
}

// Hint marks, in a diagnostic's Extra, advice about the diagnostics around
// it rather than a problem at a place: it is shown after them.
type Hint struct{}

// SingleFileHint explains references to undeclared things when PATH was
// one file of a directory holding other pipeline files: those files (where
// the variables usually are) were not loaded. nil when that is not the case.
func (c *Config) SingleFileHint(diags hcl.Diagnostics) *hcl.Diagnostic {
	if c == nil || len(c.Files) != 1 || !hasUndeclared(diags) {
		return nil
	}
	file := c.Files[0]
	dir := filepath.Dir(file)
	all, err := hclFiles(dir)
	if err != nil {
		return nil
	}
	var others []string
	for _, f := range all {
		if filepath.Base(f) != filepath.Base(file) {
			others = append(others, filepath.Base(f))
		}
	}
	if len(others) == 0 {
		return nil
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Only " + file + " was loaded",
		Detail: fmt.Sprintf("PATH is one file, so the other files of its directory (%s) are not loaded, and what they declare is undeclared here. To load the whole pipeline, give the directory as PATH: %s",
			strings.Join(others, ", "), dir),
		Extra: Hint{},
	}
}

func hasUndeclared(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if d.Severity == hcl.DiagError && strings.HasPrefix(d.Summary, "Reference to undeclared ") {
			return true
		}
	}
	return false
}
