package config

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/engine/dag"
	"github.com/cutoverhq/cutover/engine/parallel"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/steps"
)

// scope says which roots an expression may refer to.
type scope struct {
	stages bool     // stage.NAME.output…
	self   string   // the stage whose own output an undo block may use
	binds  []string // names the block's kind binds at run time (result, object)
	kind   string   // the kind binding them, for messages
	each   bool     // each.key, each.value: inside a stage with for_each
	// forEach: the expression is a for_each, which must be known before
	// any stage runs (Terraform's rule: the instances are in the plan).
	forEach bool
	// target: target.NAME… is bound (a stage of a pipeline with targets);
	// perTarget: stage.NAME is an object of the targets' instances (the
	// outputs of such a pipeline), so it is read as stage.NAME["TARGET"].
	target, perTarget bool
}

// depFunc is told about every stage an expression refers to; key is the
// instance named, nil for the whole stage.
type depFunc func(name string, key *InstanceRef)

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
	for _, name := range slices.Sorted(maps.Keys(c.Locals)) {
		diags = append(diags, c.checkTraversals(c.Locals[name].Expr.Variables(), scope{}, nil)...)
	}
	diags = append(diags, c.localCycles()...)
	for _, name := range slices.Sorted(maps.Keys(c.Analyses)) {
		a := c.Analyses[name]
		if a.Spec != nil {
			diags = append(diags, c.checkTraversals(hcldec.Variables(a.Body, a.Spec), scope{binds: c.analysisBinds(), kind: "an analysis"}, nil)...)
		}
	}
	diags = append(diags, c.defaultsReferences()...)
	// Each stage's check writes only its own Deps and Keyed: on every
	// processor at once, reported in order.
	found := make([]hcl.Diagnostics, len(c.StageOrder))
	parallel.For(len(c.StageOrder), func(i int) bool {
		found[i] = c.stageReferences(c.Stages[c.StageOrder[i]])
		return true
	})
	for _, d := range found {
		diags = append(diags, d...)
	}
	for _, name := range c.OutputOrder {
		diags = append(diags, c.checkTraversals(exprVars(c.Outputs[name].Value), scope{stages: true, perTarget: len(c.Targets) > 0}, nil)...)
	}
	for _, name := range c.TargetOrder {
		t := c.Targets[name]
		for _, e := range []hcl.Expression{t.Context, t.Kubeconfig, t.Namespace, t.Labels} {
			diags = append(diags, c.checkTraversals(exprVars(e), scope{}, nil)...)
		}
	}
	for _, w := range c.Waves {
		for _, e := range []hcl.Expression{w.Parallelism, w.MaxFailures} {
			diags = append(diags, c.checkTraversals(exprVars(e), scope{}, nil)...)
		}
	}
	for _, n := range c.Notify {
		// Known before the first stage: variables and locals only.
		diags = append(diags, c.checkTraversals(append(exprVars(n.URL), exprVars(n.Headers)...), scope{}, nil)...)
	}
	return append(diags, c.cycles()...)
}

func (c *Config) stageReferences(s *Stage) hcl.Diagnostics {
	var diags hcl.Diagnostics
	// Made on the first dependency: most stages of a large pipeline have
	// one or two, many none.
	var whole map[string]bool
	var keyed map[string][]InstanceRef
	dep := func(name string, key *InstanceRef) {
		if name == s.Name {
			return
		}
		if _, known := whole[name]; !known {
			if _, known = keyed[name]; !known {
				s.Deps = append(s.Deps, name)
			}
		}
		if key == nil {
			if whole == nil {
				whole = map[string]bool{}
			}
			whole[name] = true
		} else {
			if keyed == nil {
				keyed = map[string][]InstanceRef{}
			}
			keyed[name] = append(keyed[name], *key)
		}
	}
	for _, tr := range s.DependsOn {
		name, ok := attrAt(tr, 1) // decodeDependsOn kept only stage.NAME and stage.NAME[KEY]
		if !ok {
			continue
		}
		target, ok := c.Stages[name]
		if !ok {
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
		if len(tr) == 3 {
			key, _ := instanceKey(tr[2])
			if target.ForEach == nil {
				diags = append(diags, noInstances(target, tr.SourceRange()))
				continue
			}
			dep(name, &InstanceRef{Key: key, Range: tr.SourceRange()})
			continue
		}
		dep(name, nil)
	}
	for _, de := range s.DependsOnEach {
		target, ok := c.Stages[de.Name]
		switch {
		case !ok:
			diags = append(diags, c.unknownStage(de.Name, de.Range))
		case s.ForEach == nil:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "each not allowed here",
				Detail:  fmt.Sprintf("stage.%s[each.key] names the instance of this stage's key; this stage has no for_each.", de.Name),
				Subject: de.Range.Ptr(),
			})
		case target.ForEach == nil:
			diags = append(diags, noInstances(target, de.Range))
		case de.Name == s.Name:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Stage depends on itself",
				Detail: fmt.Sprintf("Stage %q lists its own instance in depends_on; sequential = true chains instances.", s.Name), Subject: de.Range.Ptr(),
			})
		default:
			dep(de.Name, &InstanceRef{Each: true, Range: de.Range})
		}
	}
	if s.ForEach != nil {
		diags = append(diags, c.checkTraversals(exprVars(s.ForEach), scope{forEach: true}, nil)...)
	}
	each, target := s.ForEach != nil, len(c.Targets) > 0
	// when is evaluated before the step runs: stage outputs, nothing bound.
	diags = append(diags, c.checkTraversals(exprVars(s.When), scope{stages: true, each: each, target: target}, dep)...)
	if s.Timeout != nil || s.Retry != nil {
		// Settings of the stage itself are evaluated before it runs, from
		// variables and locals only.
		settings := exprVars(s.Timeout)
		for _, e := range s.Retry.settings() {
			settings = append(settings, exprVars(e)...)
		}
		diags = append(diags, c.checkTraversals(settings, scope{each: each}, nil)...)
	}
	if s.Step != nil && s.Step.Kind != nil {
		k := s.Step.Kind
		trs := s.Step.Variables()
		diags = append(diags, c.checkTraversals(trs, scope{stages: true, binds: steps.BindsOf(k), kind: k.Name(), each: each, target: target}, dep)...)
	}
	if s.Undo != nil && s.Undo.Step != nil && s.Undo.Step.Kind != nil {
		k := s.Undo.Step.Kind
		u := s.Undo.Step.Variables()
		diags = append(diags, c.checkTraversals(u, scope{stages: true, self: s.Name, binds: steps.BindsOf(k), kind: k.Name(), each: each, target: target}, dep)...)
	}
	for name, refs := range keyed {
		if !whole[name] {
			if s.Keyed == nil {
				s.Keyed = map[string][]InstanceRef{}
			}
			s.Keyed[name] = refs
		}
	}
	return diags
}

// defaultsReferences checks the defaults block: variables and locals only.
func (c *Config) defaultsReferences() hcl.Diagnostics {
	d := c.Defaults
	if d == nil {
		return nil
	}
	trs := exprVars(d.Timeout)
	for _, e := range d.Retry.settings() {
		trs = append(trs, exprVars(e)...)
	}
	return c.checkTraversals(trs, scope{}, nil)
}

func noInstances(st *Stage, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: "Stage has no instances",
		Detail:  fmt.Sprintf("Stage %q has no for_each, so it has no instance keys: write stage.%s.", st.Name, st.Name),
		Subject: rng.Ptr(),
	}
}

// checkTraversals reports references to undeclared things; dep (when not
// nil) is told about every stage referred to.
func (c *Config) checkTraversals(trs []hcl.Traversal, sc scope, dep depFunc) hcl.Diagnostics {
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
				diags = append(diags, undeclared("variable", "var", name, slices.Sorted(maps.Keys(c.Variables)), rng))
			}
		case "local":
			if !hasName {
				diags = append(diags, bareRoot(root, rng))
			} else if _, ok := c.Locals[name]; !ok {
				diags = append(diags, undeclared("local value", "local", name, slices.Sorted(maps.Keys(c.Locals)), rng))
			}
		case "analysis":
			if !hasName {
				diags = append(diags, bareRoot(root, rng))
			} else if _, ok := c.Analyses[name]; !ok {
				diags = append(diags, undeclared("analysis", "analysis", name, slices.Sorted(maps.Keys(c.Analyses)), rng))
			}
		case "stage":
			if sc.forEach {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Invalid for_each argument",
					Detail:  "for_each must be known before any stage runs, so that plan and validate show every instance: it can use variables and locals, not what a stage produced.",
					Subject: rng.Ptr(),
				})
				continue
			}
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
			if len(c.Targets) > 0 {
				var d hcl.Diagnostics
				if tr, d = c.targetInstance(tr, sc.perTarget); d.HasErrors() {
					diags = append(diags, d...)
					continue
				}
			}
			key, d := checkStageAttr(st, tr)
			diags = append(diags, d...)
			if name == sc.self || d.HasErrors() {
				continue // an undo block reading its own stage's output
			}
			if dep != nil {
				dep(name, key)
			}
		case "target":
			switch {
			case !sc.target:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "target not allowed here",
					Detail:  "target.name, target.namespace, target.context and target.labels are known in the stages of a pipeline with target blocks, while they run against one target.",
					Subject: rng.Ptr(),
				})
			case !hasName || !slices.Contains(TargetAttrs, name):
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Invalid target reference",
					Detail:  "target has the attributes " + strings.Join(TargetAttrs, ", ") + ".",
					Subject: rng.Ptr(),
				})
			}
		case "each":
			if !sc.each {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "each not allowed here",
					Detail:  "each.key and each.value are known only in a stage with for_each (not in its for_each itself, nor in depends_on).",
					Subject: rng.Ptr(),
				})
			} else if name, ok := attrAt(tr, 1); !ok || name != "key" && name != "value" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Invalid each reference",
					Detail:  "each has two attributes: each.key and each.value.",
					Subject: rng.Ptr(),
				})
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
					Detail:  fmt.Sprintf("%q is bound only inside %s blocks, while they run; it means nothing %s.", root, words.Or(by), where),
					Subject: rng.Ptr(),
				})
				continue
			}
			diags = append(diags, unknownRoot(root, rng))
		}
	}
	return diags
}

// targetInstance reads stage.NAME["TARGET"]… in the outputs of a
// pipeline with targets (perTarget) and returns it without the key, for
// checkStageAttr; inside a stage, stage.NAME is the same target's instance
// and another target's cannot be named.
func (c *Config) targetInstance(tr hcl.Traversal, perTarget bool) (hcl.Traversal, hcl.Diagnostics) {
	name, _ := attrAt(tr, 1)
	keyed := len(tr) > 2 && isIndex(tr[2])
	switch {
	case !perTarget && keyed:
		return tr, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Stage of another target",
			Detail:  fmt.Sprintf("In a pipeline with targets, stage.%s is the instance of the target the stage runs against; another target's is readable only in output blocks.", name),
			Subject: tr.SourceRange().Ptr()}}
	case !perTarget:
		return tr, nil
	case !keyed:
		return tr, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Missing target key",
			Detail:  fmt.Sprintf("The pipeline has targets: stage.%s is one instance per target; name one, as stage.%s[%q].output.", name, name, c.TargetOrder[0]),
			Subject: tr.SourceRange().Ptr()}}
	}
	trimmed := append(hcl.Traversal{tr[0], tr[1]}, tr[3:]...)
	if key, ok := instanceKey(tr[2]); ok {
		if _, ok := c.Targets[key]; !ok {
			return tr, hcl.Diagnostics{undeclaredTarget(key, c.TargetOrder, tr.SourceRange())}
		}
	}
	return trimmed, nil
}

// checkStageAttr checks stage.NAME.ATTR… (stage.NAME[KEY].ATTR… for a
// stage with for_each) against what the stage's step produces. It returns
// the instance named, if one is.
func checkStageAttr(st *Stage, tr hcl.Traversal) (*InstanceRef, hcl.Diagnostics) {
	at := 2
	var key *InstanceRef
	if st.ForEach != nil && len(tr) > 2 {
		k, ok := instanceKey(tr[2])
		if !isIndex(tr[2]) {
			return nil, hcl.Diagnostics{{
				Severity: hcl.DiagError, Summary: "Missing stage instance key",
				Detail: fmt.Sprintf("Stage %q has for_each: refer to one instance, as stage.%s[KEY].output, or to all of them, as in [for k, s in stage.%s : s.output].",
					st.Name, st.Name, st.Name),
				Subject: tr.SourceRange().Ptr(),
			}}
		}
		if ok {
			key = &InstanceRef{Key: k, Range: tr.SourceRange()}
		}
		at = 3
	} else if st.ForEach == nil && len(tr) > 2 && isIndex(tr[2]) {
		if _, named := attrAt(tr, 2); !named {
			return nil, hcl.Diagnostics{noInstances(st, tr.SourceRange())}
		}
	}
	attr, ok := attrAt(tr, at)
	if !ok {
		return key, nil // the whole stage object
	}
	switch attr {
	case "status":
		return key, nil
	case "output":
	default:
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Unsupported stage attribute",
			Detail:  fmt.Sprintf("A stage has \"output\" and \"status\"; did you mean stage.%s.output.%s?", st.Name, attr),
			Subject: tr.SourceRange().Ptr(),
		}}
	}
	out, ok := attrAt(tr, at+1)
	if !ok || st.Step == nil || st.Step.Kind == nil {
		return key, nil
	}
	ty := st.Step.Kind.Output()
	if !ty.IsObjectType() || ty.HasAttribute(out) {
		return key, nil
	}
	var names []string
	for n := range ty.AttributeTypes() {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, hcl.Diagnostics{{
		Severity: hcl.DiagError, Summary: "Unsupported stage output",
		Detail: fmt.Sprintf("Stage %q runs %s step, whose output has no attribute %q. It has: %s.",
			st.Name, words.A(fmt.Sprintf("%q", st.Step.Kind.Name())), out, strings.Join(names, ", ")),
		Subject: tr.SourceRange().Ptr(),
	}}
}

func isIndex(t hcl.Traverser) bool {
	_, ok := t.(hcl.TraverseIndex)
	return ok
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
	g := dag.NewSized(len(c.StageOrder))
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
	for _, n := range slices.Sorted(maps.Keys(c.Locals)) {
		g.Add(n)
	}
	for _, n := range slices.Sorted(maps.Keys(c.Locals)) {
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
