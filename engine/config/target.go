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
			v, d := e.Value(nil)
			if d.HasErrors() || v.Type() != cty.String || v.IsNull() {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid wave targets",
					Detail:  "targets is a list of target names, written as strings: [\"eu-1\", \"us-1\"].",
					Subject: e.Range().Ptr()})
				continue
			}
			w.Targets = append(w.Targets, v.AsString())
			w.TargetRanges = append(w.TargetRanges, e.Range())
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
	inWave := map[string]string{}
	for _, w := range c.Waves {
		for i, t := range w.Targets {
			rng := w.TargetRanges[i]
			if _, ok := c.Targets[t]; !ok {
				diags = append(diags, undeclaredTarget(t, c.TargetOrder, rng))
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
	var missing []string
	for _, t := range c.TargetOrder {
		if _, ok := inWave[t]; !ok {
			missing = append(missing, fmt.Sprintf("%q", t))
		}
	}
	if len(missing) > 0 {
		for _, t := range c.TargetOrder {
			if _, ok := inWave[t]; !ok {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Target in no wave",
					Detail:  fmt.Sprintf("Target %q is in no wave block: with waves declared, every target must be in one (not in any: %s).", t, strings.Join(missing, ", ")),
					Subject: c.Targets[t].DeclRange.Ptr()})
			}
		}
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
