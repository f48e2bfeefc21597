package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/engine/dag"
	"github.com/cutoverhq/cutover/steps"
)

// scope says which roots an expression may refer to.
type scope struct {
	stages bool     // stage.NAME.output…
	self   string   // the stage whose own output an undo block may use
	binds  []string // names the block's kind binds at run time (result, object)
	kind   string   // the kind binding them, for messages
}

// checkReferences validates every traversal of every expression against the
// declared names, records each stage's dependencies and reports cycles.
func (c *Config) checkReferences() hcl.Diagnostics {
	var diags hcl.Diagnostics
	p := c.Pipeline
	if p != nil {
		for _, e := range []hcl.Expression{p.Description, p.Namespace, p.Parallelism, p.Lock, p.OnFailure, p.Timeout} {
			diags = append(diags, c.checkTraversals(exprVars(e), scope{}, nil)...)
		}
	}
	for _, name := range sortedKeys(c.Locals) {
		diags = append(diags, c.checkTraversals(c.Locals[name].Expr.Variables(), scope{}, nil)...)
	}
	diags = append(diags, c.localCycles()...)
	for _, name := range sortedKeys(c.Analyses) {
		a := c.Analyses[name]
		if a.Spec != nil {
			diags = append(diags, c.checkTraversals(hcldec.Variables(a.Body, a.Spec), scope{binds: c.analysisBinds(), kind: "an analysis"}, nil)...)
		}
	}
	for _, name := range c.StageOrder {
		diags = append(diags, c.stageReferences(c.Stages[name])...)
	}
	for _, name := range c.OutputOrder {
		diags = append(diags, c.checkTraversals(exprVars(c.Outputs[name].Value), scope{stages: true}, nil)...)
	}
	for _, n := range c.Notify {
		// Known before the first stage: variables and locals only.
		diags = append(diags, c.checkTraversals(append(exprVars(n.URL), exprVars(n.Headers)...), scope{}, nil)...)
	}
	return append(diags, c.cycles()...)
}

func (c *Config) stageReferences(s *Stage) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	dep := func(name string) {
		if !seen[name] && name != s.Name {
			seen[name] = true
			s.Deps = append(s.Deps, name)
		}
	}
	for _, tr := range s.DependsOn {
		name, ok := attrAt(tr, 1) // decodeDependsOn kept only stage.NAME
		if !ok {
			continue
		}
		if _, ok := c.Stages[name]; !ok {
			diags = append(diags, c.unknownStage(name, tr.SourceRange()))
			continue
		}
		if name == s.Name {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Stage depends on itself",
				Detail: fmt.Sprintf("Stage %q lists itself in depends_on.", s.Name), Subject: tr.SourceRange().Ptr(),
			})
			continue
		}
		dep(name)
	}
	// when is evaluated before the step runs: stage outputs, nothing bound.
	diags = append(diags, c.checkTraversals(exprVars(s.When), scope{stages: true}, dep)...)
	var trs []hcl.Traversal
	if s.Timeout != nil || s.Retry != nil {
		// Settings of the stage itself are evaluated before it runs, from
		// variables and locals only.
		var settings []hcl.Traversal
		settings = append(settings, exprVars(s.Timeout)...)
		if r := s.Retry; r != nil {
			for _, e := range []hcl.Expression{r.Attempts, r.Backoff, r.Delay, r.MaxDelay, r.Jitter} {
				settings = append(settings, exprVars(e)...)
			}
		}
		diags = append(diags, c.checkTraversals(settings, scope{}, nil)...)
	}
	if s.Step != nil && s.Step.Kind != nil {
		k := s.Step.Kind
		trs = append(trs, hcldec.Variables(s.Step.Body, s.Step.Spec)...)
		diags = append(diags, c.checkTraversals(trs, scope{stages: true, binds: steps.BindsOf(k), kind: k.Name()}, dep)...)
	}
	if s.Undo != nil && s.Undo.Step != nil && s.Undo.Step.Kind != nil {
		k := s.Undo.Step.Kind
		u := hcldec.Variables(s.Undo.Step.Body, s.Undo.Step.Spec)
		diags = append(diags, c.checkTraversals(u, scope{stages: true, self: s.Name, binds: steps.BindsOf(k), kind: k.Name()}, dep)...)
	}
	return diags
}

// checkTraversals reports references to undeclared things; dep (when not
// nil) is told about every stage referred to.
func (c *Config) checkTraversals(trs []hcl.Traversal, sc scope, dep func(string)) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, tr := range trs {
		root := tr.RootName()
		rng := tr.SourceRange()
		name, hasName := attrAt(tr, 1)
		switch root {
		case "var":
			if !hasName {
				diags = append(diags, bareRoot(root, rng))
			} else if _, ok := c.Variables[name]; !ok {
				diags = append(diags, undeclared("variable", "var", name, sortedKeys(c.Variables), rng))
			}
		case "local":
			if !hasName {
				diags = append(diags, bareRoot(root, rng))
			} else if _, ok := c.Locals[name]; !ok {
				diags = append(diags, undeclared("local value", "local", name, sortedKeys(c.Locals), rng))
			}
		case "analysis":
			if !hasName {
				diags = append(diags, bareRoot(root, rng))
			} else if _, ok := c.Analyses[name]; !ok {
				diags = append(diags, undeclared("analysis", "analysis", name, sortedKeys(c.Analyses), rng))
			}
		case "stage":
			if !sc.stages {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Stage output not allowed here",
					Detail:  "Only stages, undo blocks and outputs can use what a stage produced; this value must be known before any stage runs.",
					Subject: rng.Ptr(),
				})
				continue
			}
			if !hasName {
				diags = append(diags, bareRoot(root, rng))
				continue
			}
			st, ok := c.Stages[name]
			if !ok {
				diags = append(diags, c.unknownStage(name, rng))
				continue
			}
			diags = append(diags, checkStageAttr(st, tr)...)
			if name == sc.self {
				continue // an undo block reading its own stage's output
			}
			if dep != nil {
				dep(name)
			}
		default:
			if slices.Contains(sc.binds, root) {
				continue
			}
			if by := c.binders(root); len(by) > 0 {
				where := "here"
				if sc.kind != "" {
					where = "in a " + sc.kind + " block"
				}
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Unknown variable",
					Detail:  fmt.Sprintf("%q is bound only inside %s blocks, while they run; it means nothing %s.", root, strings.Join(by, ", "), where),
					Subject: rng.Ptr(),
				})
				continue
			}
			diags = append(diags, unknownRoot(root, rng))
		}
	}
	return diags
}

// checkStageAttr checks stage.NAME.ATTR… against what the stage's step
// produces.
func checkStageAttr(st *Stage, tr hcl.Traversal) hcl.Diagnostics {
	attr, ok := attrAt(tr, 2)
	if !ok {
		return nil // the whole stage object
	}
	switch attr {
	case "status":
		return nil
	case "output":
	default:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Unsupported stage attribute",
			Detail:  fmt.Sprintf("A stage has \"output\" and \"status\"; did you mean stage.%s.output.%s?", st.Name, attr),
			Subject: tr.SourceRange().Ptr(),
		}}
	}
	out, ok := attrAt(tr, 3)
	if !ok || st.Step == nil || st.Step.Kind == nil {
		return nil
	}
	ty := st.Step.Kind.Output()
	if !ty.IsObjectType() || ty.HasAttribute(out) {
		return nil
	}
	var names []string
	for n := range ty.AttributeTypes() {
		names = append(names, n)
	}
	sort.Strings(names)
	return hcl.Diagnostics{{
		Severity: hcl.DiagError, Summary: "Unsupported stage output",
		Detail: fmt.Sprintf("Stage %q runs a %q step, whose output has no attribute %q. It has: %s.",
			st.Name, st.Step.Kind.Name(), out, strings.Join(names, ", ")),
		Subject: tr.SourceRange().Ptr(),
	}}
}

func (c *Config) unknownStage(name string, rng hcl.Range) *hcl.Diagnostic {
	return undeclared("stage", "stage", name, c.StageOrder, rng)
}

func undeclared(what, root, name string, known []string, rng hcl.Range) *hcl.Diagnostic {
	detail := fmt.Sprintf("There is no %s named %q.", what, name)
	if s := suggest(name, known); s != "" {
		detail += fmt.Sprintf(" Did you mean %s.%s?", root, s)
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared " + what, Detail: detail, Subject: rng.Ptr()}
}

func bareRoot(root string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: "Invalid reference",
		Detail:  fmt.Sprintf("%q must be followed by a name, as in %s.NAME.", root, root),
		Subject: rng.Ptr(),
	}
}

func unknownRoot(root string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: "Unknown variable",
		Detail:  fmt.Sprintf("There is no %q here. References start with var., local., stage. or analysis.", root),
		Subject: rng.Ptr(),
	}
}

// analysisBinds is what analysis blocks may refer to besides the
// pipeline's names.
func (c *Config) analysisBinds() []string {
	if c.Registry == nil {
		return nil
	}
	return c.Registry.AnalysisBinds()
}

// binders names the kinds (and analysis blocks) that bind root.
func (c *Config) binders(root string) []string {
	if c.Registry == nil {
		return nil
	}
	var out []string
	for _, n := range c.Registry.Names() {
		if k, ok := c.Registry.Lookup(n); ok && slices.Contains(steps.BindsOf(k), root) {
			out = append(out, n)
		}
	}
	if slices.Contains(c.Registry.AnalysisBinds(), root) {
		out = append(out, "analysis")
	}
	return out
}

// attrAt returns the name of the attribute step i of a traversal.
func attrAt(tr hcl.Traversal, i int) (string, bool) {
	if len(tr) <= i {
		return "", false
	}
	switch t := tr[i].(type) {
	case hcl.TraverseAttr:
		return t.Name, true
	case hcl.TraverseIndex:
		if t.Key.Type() == cty.String && t.Key.IsKnown() {
			return t.Key.AsString(), true
		}
	}
	return "", false
}

func exprVars(e hcl.Expression) []hcl.Traversal {
	if e == nil {
		return nil
	}
	return e.Variables()
}

// Graph returns the stages as a DAG of their dependencies. Call it only on a
// Config whose diagnostics had no errors.
func (c *Config) Graph() *dag.Graph {
	g := dag.New()
	for _, n := range c.StageOrder {
		g.Add(n)
	}
	for _, n := range c.StageOrder {
		for _, d := range c.Stages[n].Deps {
			g.Connect(n, d)
		}
	}
	return g
}

func (c *Config) cycles() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, cyc := range c.Graph().Cycles() {
		first := c.Stages[cyc[0]]
		path := append(append([]string{}, cyc...), cyc[0])
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Stages depend on each other in a cycle",
			Detail: fmt.Sprintf("These stages wait for one another, so none of them could start: %s. Remove one of the dependencies (depends_on or a stage.NAME.output reference).",
				strings.Join(path, " → ")),
			Subject: first.DeclRange.Ptr(),
		})
	}
	return diags
}

func (c *Config) localCycles() hcl.Diagnostics {
	g := dag.New()
	for _, n := range sortedKeys(c.Locals) {
		g.Add(n)
	}
	for _, n := range sortedKeys(c.Locals) {
		for _, tr := range c.Locals[n].Expr.Variables() {
			if name, ok := attrAt(tr, 1); ok && tr.RootName() == "local" && g.Has(name) {
				g.Connect(n, name)
			}
		}
	}
	var diags hcl.Diagnostics
	for _, cyc := range g.Cycles() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Local values refer to each other in a cycle",
			Detail:  "Cycle: local." + strings.Join(cyc, ", local.") + ".",
			Subject: c.Locals[cyc[0]].DeclRange.Ptr(),
		})
	}
	return diags
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
