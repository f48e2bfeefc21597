package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Target is a `target "NAME" {}` block: one cluster (a kubeconfig and a
// context in it) and a namespace the pipeline's stages run against. A
// pipeline with targets runs every stage once per target, wave by wave
// (docs/design.md, "Targets and waves"). Its settings may use variables
// and locals.
type Target struct {
	Name       string
	Context    hcl.Expression
	Kubeconfig hcl.Expression
	Namespace  hcl.Expression
	Labels     hcl.Expression
	DeclRange  hcl.Range
}

// Wave is a `wave "NAME" {}` block: targets released together, after
// every earlier wave (declaration order) succeeded.
type Wave struct {
	Name string
	// Targets are the names listed, with their ranges for diagnostics.
	Targets      []string
	TargetRanges []hcl.Range
	Parallelism  hcl.Expression
	MaxFailures  hcl.Expression
	DeclRange    hcl.Range
	// invalid: an entry of targets was not a name (reported), so which
	// targets are in no wave is not known.
	invalid bool
}

var targetSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "context"}, {Name: "kubeconfig"}, {Name: "namespace"}, {Name: "labels"},
	},
}

var waveSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "targets", Required: true}, {Name: "parallelism"}, {Name: "max_failures"},
	},
}

func decodeTargetBlock(b *hcl.Block) (*Target, hcl.Diagnostics) {
	t := &Target{Name: b.Labels[0], DeclRange: b.DefRange}
	diags := validName("target", t.Name, b.LabelRanges[0])
	content, d := b.Body.Content(targetSchema)
	diags = append(diags, d...)
	t.Context = attrExpr(content, "context")
	t.Kubeconfig = attrExpr(content, "kubeconfig")
	t.Namespace = attrExpr(content, "namespace")
	t.Labels = attrExpr(content, "labels")
	return t, diags
}

// waveTarget is the target an entry of a wave's targets names: a string
// ("eu-1") or a reference (target.eu_1, target["eu-1"]).
func waveTarget(e hcl.Expression) (string, bool) {
	if v, d := e.Value(nil); !d.HasErrors() && v.Type() == cty.String && !v.IsNull() {
		return v.AsString(), true
	}
	tr, d := hcl.AbsTraversalForExpr(e)
	if d.HasErrors() || len(tr) != 2 || tr.RootName() != "target" {
		return "", false
	}
	switch step := tr[1].(type) {
	case hcl.TraverseAttr:
		return step.Name, true
	case hcl.TraverseIndex:
		if step.Key.Type() == cty.String && !step.Key.IsNull() {
			return step.Key.AsString(), true
		}
	}
	return "", false
}

func decodeWaveBlock(b *hcl.Block) (*Wave, hcl.Diagnostics) {
	w := &Wave{Name: b.Labels[0], DeclRange: b.DefRange}
	diags := validName("wave", w.Name, b.LabelRanges[0])
	content, d := b.Body.Content(waveSchema)
	diags = append(diags, d...)
	w.Parallelism = attrExpr(content, "parallelism")
	w.MaxFailures = attrExpr(content, "max_failures")
	if a, ok := content.Attributes["targets"]; ok {
		// Names, not expressions: which clusters a wave holds is known
		// before anything is evaluated, so a wrong name is found at load.
		exprs, d := hcl.ExprList(a.Expr)
		diags = append(diags, d...)
		for _, e := range exprs {
			name, ok := waveTarget(e)
			if !ok {
				w.invalid = true
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid wave targets",
					Detail:  "targets lists target names, as strings or references: [\"eu-1\", \"us-1\"] or [target.canary].",
					Subject: e.Range().Ptr()})
				continue
			}
			w.Targets = append(w.Targets, name)
			w.TargetRanges = append(w.TargetRanges, e.Range())
		}
		if len(exprs) == 0 && !d.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty wave",
				Detail:  fmt.Sprintf("Wave %q lists no target: a wave releases one or more targets. List them, or remove the wave.", w.Name),
				Subject: a.Expr.Range().Ptr()})
			w.invalid = true
		}
	}
	return w, diags
}

// checkWaves checks that every wave names declared targets and every target
// is in exactly one wave. Without wave blocks all targets form one wave.
func (c *Config) checkWaves() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if len(c.Targets) == 0 {
		for _, w := range c.Waves {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Wave without targets",
				Detail:  "A wave orders target blocks, and this pipeline declares none.",
				Subject: w.DeclRange.Ptr()})
		}
		return diags
	}
	for _, name := range c.StageOrder {
		if s := c.Stages[name]; s.ForEach != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "for_each in a pipeline with targets",
				Detail:  fmt.Sprintf("Stage %q has for_each, and the pipeline declares targets: each stage already runs once per target, and instances of both are not supported yet.", name),
				Subject: s.ForEach.Range().Ptr()})
		}
	}
	if len(c.Waves) == 0 {
		return diags
	}
	inWave, meant := map[string]string{}, map[string]bool{}
	for _, w := range c.Waves {
		for i, t := range w.Targets {
			rng := w.TargetRanges[i]
			if _, ok := c.Targets[t]; !ok {
				diags = append(diags, undeclaredTarget(t, c.TargetOrder, rng))
				// The target the misspelt name suggests is not said to
				// be in no wave as well: fixing the name fixes both.
				if s := suggest(t, c.TargetOrder); s != "" {
					meant[s] = true
				}
				continue
			}
			if prev, dup := inWave[t]; dup {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Target in two waves",
					Detail:  fmt.Sprintf("Target %q is already in wave %q: a target is released once per run.", t, prev),
					Subject: rng.Ptr()})
				continue
			}
			inWave[t] = w.Name
		}
	}
	for _, w := range c.Waves {
		if w.invalid {
			return diags // which targets the wave meant is not known
		}
	}
	var missing []string
	for _, t := range c.TargetOrder {
		if _, ok := inWave[t]; !ok && !meant[t] {
			missing = append(missing, t)
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Target in no wave",
			Detail:  fmt.Sprintf("Target %q is in no wave block: with waves declared, every target is released in one. Add it to a wave's targets.", missing[0]),
			Subject: c.Targets[missing[0]].DeclRange.Ptr()})
	default:
		// One diagnostic, at the first: the same words once per target
		// would bury the list.
		first := c.Targets[missing[0]].DeclRange
		var where []string
		for _, t := range missing {
			r := c.Targets[t].DeclRange
			at := fmt.Sprintf("line %d", r.Start.Line)
			if r.Filename != first.Filename {
				at = fmt.Sprintf("%s:%d", r.Filename, r.Start.Line)
			}
			where = append(where, fmt.Sprintf("%q (%s)", t, at))
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Targets in no wave",
			Detail:  fmt.Sprintf("%d targets are in no wave block: %s. With waves declared, every target is released in one: add them to waves' targets.", len(missing), strings.Join(where, ", ")),
			Subject: first.Ptr()})
	}
	return diags
}

func undeclaredTarget(name string, known []string, rng hcl.Range) *hcl.Diagnostic {
	detail := fmt.Sprintf("There is no target named %q.", name)
	if s := suggest(name, known); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	} else if len(known) > 0 {
		detail += " The targets are: " + strings.Join(known, ", ") + "."
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared target", Detail: detail, Subject: rng.Ptr()}
}

// TargetAttrs are the attributes of `target` in a stage's expressions.
var TargetAttrs = []string{"name", "context", "namespace", "labels"}
