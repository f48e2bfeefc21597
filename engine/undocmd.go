package engine

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/cutoverhq/cutover/internal/words"
)

// undoCommand is the command line that undoes run runID, as messages
// suggest it, to be run as printed: the pipeline's directory, the
// namespace its journal is in (when known) and, for one target's share
// run alone (run --target), that target. With targets, undo finds each
// target's journal through the target blocks before it reads the run's
// variables there: the values the run was given that say where (whereVars)
// are given again with -var.
func (p *Program) undoCommand(runID, namespace, target string) string {
	cmd := "cutover undo " + runID + " " + words.Shell(p.Config.Dir)
	if target != "" {
		cmd += " --target " + words.Shell(target)
	}
	if len(p.Targets) > 0 {
		for _, name := range p.whereVars() {
			if arg, ok := p.varArg(name); ok {
				cmd += " -var " + words.Shell(name+"="+arg)
			}
		}
	}
	if namespace != "" {
		cmd += " -n " + namespace
	}
	return cmd
}

// whereVars are the variables that say where a pipeline with targets
// keeps its journals: those the target blocks' context, kubeconfig and
// namespace and the pipeline's namespace read, directly or through
// locals; sorted.
func (p *Program) whereVars() []string {
	seen, locals := map[string]bool{}, map[string]bool{}
	var walk func(e hcl.Expression)
	walk = func(e hcl.Expression) {
		if e == nil {
			return
		}
		for _, tr := range e.Variables() {
			if len(tr) < 2 {
				continue
			}
			a, ok := tr[1].(hcl.TraverseAttr)
			if !ok {
				continue
			}
			switch tr.RootName() {
			case "var":
				seen[a.Name] = true
			case "local":
				if l, ok := p.Config.Locals[a.Name]; ok && !locals[a.Name] {
					locals[a.Name] = true
					walk(l.Expr)
				}
			}
		}
	}
	if p.Config.Pipeline != nil {
		walk(p.Config.Pipeline.Namespace)
	}
	for _, t := range p.Config.Targets {
		walk(t.Context)
		walk(t.Kubeconfig)
		walk(t.Namespace)
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// varArg is variable name's value as -var takes it (verbatim for a
// string variable, HCL on one line otherwise), when it is not its default
// and may be printed (a sensitive value never is).
func (p *Program) varArg(name string) (string, bool) {
	v, ok := p.Vars[name]
	decl := p.Config.Variables[name]
	if !ok || decl == nil || decl.Sensitive || v.IsNull() || !v.IsWhollyKnown() || v.ContainsMarked() {
		return "", false
	}
	if decl.HasDefault {
		if d, err := convert.Convert(decl.Default, v.Type()); err == nil && d.RawEquals(v) {
			return "", false
		}
	}
	switch {
	case decl.Type == cty.String || decl.Type == cty.DynamicPseudoType && v.Type() == cty.String:
		return v.AsString(), true
	case decl.Type == cty.DynamicPseudoType:
		return "", false // -var gives an untyped variable a string only
	}
	return oneLineHCL(v), true
}

// oneLineHCL is v as an HCL expression on one line, as -var reads it.
func oneLineHCL(v cty.Value) string {
	ty := v.Type()
	switch {
	case v.IsNull():
		return "null"
	case ty.IsObjectType() || ty.IsMapType():
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			parts = append(parts, oneLineHCL(k)+" = "+oneLineHCL(e))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			parts = append(parts, oneLineHCL(e))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return strings.TrimSpace(string(hclwrite.TokensForValue(v).Bytes()))
}
