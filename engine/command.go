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

// Command is a cutover command on a run of this pipeline as a message
// suggests it, to be run as printed from any directory: cutover VERB
// ARGS (RUN, a stage, --resume RUN: each shell-quoted), the pipeline's
// directory, --target for one target's share, the namespace its journal
// is in (when known) and, with targets, the values that say where they
// are. A command on a run with targets finds each target's journal
// through the target blocks before it reads the run's variables there:
// the values the run was given that say where (whereVars) are given again
// with -var. A sensitive one is never printed: a shell comment at the end
// names it, to be given again (without a default, the command asks for
// it; with one, it would use the default).
// A nil Program (a share's status read without its pipeline) names the
// directory PATH.
func (p *Program) Command(verb string, args []string, target, namespace string) string {
	cmd := "cutover " + verb
	for _, a := range args {
		cmd += " " + words.Shell(a)
	}
	if p == nil {
		cmd += " PATH"
	} else {
		cmd += " " + words.Shell(p.Config.Dir)
	}
	if target != "" {
		cmd += " --target " + words.Shell(target)
	}
	var withheld []string
	if p != nil && len(p.Targets) > 0 {
		for _, name := range p.whereVars() {
			switch arg, ok, sensitive := p.varArg(name); {
			case ok:
				cmd += " -var " + words.Shell(name+"="+arg)
			case sensitive:
				withheld = append(withheld, "-var "+name+"=…")
			}
		}
	}
	if namespace != "" {
		cmd += " -n " + words.Shell(namespace)
	}
	if len(withheld) > 0 {
		cmd += " # and " + strings.Join(withheld, " ") + ": sensitive, not printed"
	}
	return cmd
}

// undoCommand is the undo of run runID a message suggests (Command).
func (p *Program) undoCommand(runID, namespace, target string) string {
	return p.Command("undo", []string{runID}, target, namespace)
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
// and may be printed; a sensitive value never is: sensitive says one was
// given that is not its default.
func (p *Program) varArg(name string) (arg string, ok, sensitive bool) {
	v, ok := p.Vars[name]
	decl := p.Config.Variables[name]
	if !ok || decl == nil || v.IsNull() || !v.IsWhollyKnown() {
		return "", false, false
	}
	wasMarked := v.ContainsMarked()
	v, _ = v.UnmarkDeep()
	if decl.HasDefault {
		if d, err := convert.Convert(decl.Default, v.Type()); err == nil && d.RawEquals(v) {
			return "", false, false
		}
	}
	if decl.Sensitive || wasMarked {
		return "", false, true
	}
	switch {
	case decl.Type == cty.String || decl.Type == cty.DynamicPseudoType && v.Type() == cty.String:
		return v.AsString(), true, false
	case decl.Type == cty.DynamicPseudoType:
		return "", false, false // -var gives an untyped variable a string only
	}
	return oneLineHCL(v), true, false
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
