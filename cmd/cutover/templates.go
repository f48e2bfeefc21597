package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/pipelines"
)

// template is one ready pipeline of pipelines/.
type template struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Files       []string `json:"files"`
}

// templates lists the embedded pipelines, by name, each described as
// `init --list` shows it.
func templates() ([]template, error) {
	// The loader reads a directory: the pipelines are written to a
	// temporary one, so their descriptions are evaluated by the same
	// loader and functions as a run's.
	tmp, err := os.MkdirTemp("", "cutover-templates-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.CopyFS(tmp, pipelines.FS); err != nil {
		return nil, err
	}
	dirs, err := fs.ReadDir(pipelines.FS, ".")
	if err != nil {
		return nil, err
	}
	var out []template
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		t := template{Name: d.Name()}
		files, err := fs.ReadDir(pipelines.FS, d.Name())
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			t.Files = append(t.Files, f.Name())
		}
		t.Description = describe(filepath.Join(tmp, d.Name()))
		out = append(out, t)
	}
	return out, nil
}

// describe is the description of the pipeline in dir as a reader of a
// list wants it, never template syntax: a variable the description names
// (${var.app}) is that variable's name in capitals, the placeholder the
// user fills in (APP); any other expression (a jsonencode, a join of a
// for) is its value with the variables' defaults ("3 → 2 → 0"), or the
// capitals of the variables it uses when one has no default.
func describe(dir string) string {
	cfg, _ := config.Load(dir, nil)
	if cfg == nil || cfg.Pipeline == nil || cfg.Pipeline.Description == nil {
		return ""
	}
	p, _ := engine.Prepare(cfg, engine.Inputs{AllowMissing: true})
	if p == nil {
		return ""
	}
	ctx := p.EvalContext(nil)
	var parts []hclsyntax.Expression
	switch e := cfg.Pipeline.Description.(type) {
	case *hclsyntax.TemplateExpr:
		parts = e.Parts
	case *hclsyntax.TemplateWrapExpr:
		parts = []hclsyntax.Expression{e.Wrapped}
	case hclsyntax.Expression:
		parts = []hclsyntax.Expression{e}
	}
	var b strings.Builder
	for _, part := range parts {
		b.WriteString(describePart(part, ctx))
	}
	return b.String()
}

func describePart(part hclsyntax.Expression, ctx *hcl.EvalContext) string {
	if name, ok := variableNamed(part); ok {
		return strings.ToUpper(name)
	}
	if v, diags := part.Value(ctx); !diags.HasErrors() && v.IsWhollyKnown() && !v.ContainsMarked() && !v.IsNull() {
		if s, err := convert.Convert(v, cty.String); err == nil {
			return s.AsString()
		}
	}
	var names []string
	for _, tr := range part.Variables() {
		if name, ok := variableOf(tr); ok {
			names = append(names, strings.ToUpper(name))
		}
	}
	return strings.Join(names, ", ")
}

// variableNamed is NAME when e is exactly var.NAME.
func variableNamed(e hclsyntax.Expression) (string, bool) {
	st, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) != 2 {
		return "", false
	}
	return variableOf(st.Traversal)
}

// variableOf is NAME when tr starts var.NAME.
func variableOf(tr hcl.Traversal) (string, bool) {
	if len(tr) < 2 || tr.RootName() != "var" {
		return "", false
	}
	a, ok := tr[1].(hcl.TraverseAttr)
	return a.Name, ok
}
