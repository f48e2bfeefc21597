package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/journal"
)

// A pipeline with target blocks runs its stages once per target, wave by
// wave; each target's share is an ordinary run of the whole stage graph
// against that target's cluster, with `target` bound, its own journal and
// lock there (docs/design.md, "Targets and waves").

// Target is a target block, evaluated.
type Target struct {
	Name       string
	Context    string // "": the kubeconfig's current context
	Kubeconfig string // "": the command line's kubeconfig
	Namespace  string // "": the pipeline's
	Labels     map[string]string
	Wave       int // index into Program.Waves
}

// Wave is a wave block, evaluated: targets released together.
type Wave struct {
	Name    string
	Targets []string
	// Parallelism bounds the targets released at once (default: all);
	// MaxFailures is how many of them may fail without failing the run.
	Parallelism int
	MaxFailures int
}

// TargetNames lists the targets in declaration order.
func (p *Program) TargetNames() []string {
	out := make([]string, len(p.Targets))
	for i, t := range p.Targets {
		out[i] = t.Name
	}
	return out
}

// TargetNamed returns the target called name.
func (p *Program) TargetNamed(name string) (*Target, bool) {
	for i := range p.Targets {
		if p.Targets[i].Name == name {
			return &p.Targets[i], true
		}
	}
	return nil, false
}

// targetType is the type of `target` in expressions.
var targetType = cty.Object(map[string]cty.Type{
	"name": cty.String, "context": cty.String, "namespace": cty.String, "labels": cty.Map(cty.String),
})

// value is the `target` object of t; namespace is where its share runs.
func (t *Target) value(namespace string) cty.Value {
	labels := cty.MapValEmpty(cty.String)
	if len(t.Labels) > 0 {
		m := map[string]cty.Value{}
		for k, v := range t.Labels {
			m[k] = cty.StringVal(v)
		}
		labels = cty.MapVal(m)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal(t.Name), "context": cty.StringVal(t.Context),
		"namespace": cty.StringVal(namespace), "labels": labels,
	})
}

// evalTargets evaluates the target and wave blocks with variables and
// locals. Without wave blocks, all targets are one wave.
func (p *Program) evalTargets(ctx *hcl.EvalContext) hcl.Diagnostics {
	c := p.Config
	var diags hcl.Diagnostics
	waveOf := map[string]int{}
	if len(c.Waves) == 0 && len(c.TargetOrder) > 0 {
		p.Waves = []Wave{{Name: "all", Targets: slices.Clone(c.TargetOrder)}}
	}
	for i, w := range c.Waves {
		ew := Wave{Name: w.Name, Targets: slices.Clone(w.Targets)}
		var par, maxf int64
		diags = append(diags, evalInt(w.Parallelism, ctx, &par)...)
		diags = append(diags, evalInt(w.MaxFailures, ctx, &maxf)...)
		if w.Parallelism != nil && par < 1 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid parallelism",
				Detail: "parallelism must be at least 1.", Subject: w.Parallelism.Range().Ptr()})
		}
		if maxf < 0 || (w.MaxFailures != nil && int(maxf) >= len(w.Targets) && len(w.Targets) > 0) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid max_failures",
				Detail:  fmt.Sprintf("max_failures is how many of the wave's %s may fail without failing the run: 0 to %d.", words.Count(len(w.Targets), "target"), max(len(w.Targets)-1, 0)),
				Subject: w.MaxFailures.Range().Ptr()})
		}
		ew.Parallelism, ew.MaxFailures = int(par), int(maxf)
		p.Waves = append(p.Waves, ew)
		for _, t := range w.Targets {
			waveOf[t] = i
		}
	}
	for i := range p.Waves {
		if p.Waves[i].Parallelism <= 0 {
			p.Waves[i].Parallelism = max(len(p.Waves[i].Targets), 1)
		}
	}
	for _, name := range c.TargetOrder {
		ct := c.Targets[name]
		t := Target{Name: name, Wave: waveOf[name]}
		diags = append(diags, evalString(ct.Context, ctx, &t.Context)...)
		diags = append(diags, evalString(ct.Kubeconfig, ctx, &t.Kubeconfig)...)
		diags = append(diags, evalString(ct.Namespace, ctx, &t.Namespace)...)
		diags = append(diags, evalLabels(ct, ctx, &t.Labels)...)
		p.Targets = append(p.Targets, t)
	}
	return diags
}

func evalLabels(ct *config.Target, ctx *hcl.EvalContext, dst *map[string]string) hcl.Diagnostics {
	v, diags := evalAs(ct.Labels, ctx, cty.Map(cty.String))
	if v == cty.NilVal {
		return diags
	}
	*dst = map[string]string{}
	for k, el := range v.AsValueMap() {
		if el.IsNull() {
			continue
		}
		(*dst)[k] = el.AsString()
	}
	return diags
}

// evalContext is p.EvalContext with `target` bound to the share's target.
func (r *runner) evalContext(done map[string]StageState) *hcl.EvalContext {
	ctx := r.p.EvalContext(done)
	if r.target != cty.NilVal {
		ctx.Variables["target"] = r.target
	}
	return ctx
}

// namespace is where this run acts: its target's, else the pipeline's.
func (r *runner) namespace() string {
	if r.opts.Namespace != "" {
		return r.opts.Namespace
	}
	return r.p.Namespace
}

// targetsContext is the context of the output blocks of a pipeline with
// targets: stage.NAME is an object of its instances by target,
// stage.deploy["eu-1"].output, for the targets that ran here.
func (p *Program) targetsContext(shares map[string]*runner) *hcl.EvalContext {
	ctx := p.EvalContext(map[string]StageState{})
	byStage := map[string]map[string]cty.Value{}
	for _, target := range slices.Sorted(maps.Keys(shares)) {
		r := shares[target]
		done := r.allDone()
		for name := range p.Stages {
			st, ok := done[name]
			if !ok {
				continue
			}
			out := st.Output
			if out == cty.NilVal || out.IsNull() {
				out = cty.NullVal(outputType(p.Stages[name].Stage))
			}
			if byStage[name] == nil {
				byStage[name] = map[string]cty.Value{}
			}
			byStage[name][target] = cty.ObjectVal(map[string]cty.Value{"output": out, "status": cty.StringVal(string(st.Status))})
		}
	}
	stages := map[string]cty.Value{}
	for name, m := range byStage {
		stages[name] = cty.ObjectVal(m)
	}
	ctx.Variables["stage"] = objectOrEmpty(stages)
	return ctx
}

// WaveOf is the wave that releases target name, as the run's meta keeps it.
func (p *Program) WaveOf(name string) *journal.Wave {
	for _, w := range p.Waves {
		for _, t := range w.Targets {
			if t == name {
				return &journal.Wave{Name: w.Name, MaxFailures: w.MaxFailures, Parallelism: w.Parallelism}
			}
		}
	}
	return nil
}

// JoinedOutputs evaluates the output blocks of a run with targets from its
// shares' journals (entries by target): what `cutover join` prints once
// the waves it read succeeded, as the run of every target prints them at
// its end. Its form is RunFinished.Outputs' (sensitive values masked,
// secrets redacted); an output that reads a target not in shares is left
// out, and note names it.
func (p *Program) JoinedOutputs(shares map[string][]journal.Entry) (outputs json.RawMessage, note string) {
	runners := map[string]*runner{}
	for target, entries := range shares {
		r := p.newRunner(Options{Target: target})
		r.restore(entries)
		runners[target] = r
	}
	var left []string
	out := p.outputsIn(p.targetsContext(runners), &left)
	if len(out) > 0 {
		outputs = p.Redactor().JSON(plainJSON(cty.ObjectVal(out)))
	}
	if len(left) > 0 {
		note = fmt.Sprintf("%s %s left out: %s evaluated from the targets this join read (not a later wave's, nor one that did not succeed)",
			words.Noun(len(left), "output"), strings.Join(left, ", "), map[bool]string{true: "it cannot be", false: "they cannot be"}[len(left) == 1])
	}
	return outputs, note
}
