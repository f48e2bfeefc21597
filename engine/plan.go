package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/steps"
)

// PlanStage is what plan says about one stage.
type PlanStage struct {
	Name     string     `json:"name"`
	Kind     string     `json:"kind"`
	After    []string   `json:"after,omitempty"`
	Settings []string   `json:"settings,omitempty"` // when, timeout, retry, undo
	Config   []PlanLine `json:"config"`
	// Diff is the step's own account of its changes against the live
	// cluster (plan --dry-run=server), when it could be computed.
	Diff string `json:"diff,omitempty"`
	// Error is why the stage's changes could not be computed when the
	// cluster refused a request of its plan (or its plan failed otherwise):
	// the run would fail there. Diff says it too, as "error: …".
	Error string `json:"error,omitempty"`
	// Manifests are the documents the stage would apply, rendered, each
	// after a comment line (plan --show-manifests).
	Manifests []string `json:"manifests,omitempty"`
}

// PlanLine is one attribute of a step block, evaluated as far as possible.
type PlanLine struct {
	Depth int    `json:"depth"`
	Text  string `json:"text"`
}

// Plan evaluates every stage as far as it can be known before the run.
// With a cluster in opts and DryRun set, kinds that can describe their
// changes against the live objects do so.
func (p *Program) Plan(ctx context.Context, opts Options) []PlanStage {
	evalCtx := p.EvalContext(nil)
	red := p.Redactor()
	var out []PlanStage
	// What each stage's plan leaves, and the stages that write but whose
	// changes are not known before the run (steps.Planned).
	left, unknown := map[string]*steps.Planned{}, map[string]bool{}
	for _, name := range p.Order {
		st := p.Stages[name]
		evalCtx := st.Context(evalCtx)
		ps := PlanStage{Name: name, Kind: st.Kind.Name(), After: st.Deps}
		if st.isInstance() {
			ps.Settings = append(ps.Settings, "each.key = "+renderValue(cty.StringVal(st.Key)))
			if st.Sequential {
				ps.Settings = append(ps.Settings, "sequential: after the instance before")
			}
		}
		if st.When != nil {
			ps.Settings = append(ps.Settings, "when = "+p.renderExpr(st.When, evalCtx))
		}
		if st.Timeout > 0 {
			ps.Settings = append(ps.Settings, fmt.Sprintf("timeout = %s per attempt", st.Timeout)+st.fromDefaults("timeout"))
		}
		if st.Retry.Attempts > 1 {
			r := st.Retry
			s := fmt.Sprintf("retry = %s, %s backoff from %s", words.Count(r.Attempts, "attempt"), r.Backoff, r.Delay)
			if r.MaxDelay > 0 {
				s += fmt.Sprintf(" up to %s", r.MaxDelay)
			}
			if r.Timeouts {
				s += ", rollout timeouts too"
			}
			ps.Settings = append(ps.Settings, s+st.fromDefaults("retry"))
		}
		switch {
		case st.Undo != nil && st.Undo.Step == nil:
			ps.Settings = append(ps.Settings, "undo = nothing")
		case st.Undo != nil:
			ps.Settings = append(ps.Settings, "undo = "+st.Undo.Step.Kind.Name()+" block")
		default:
			if _, ok := st.Kind.(steps.Undoer); ok {
				ps.Settings = append(ps.Settings, "undo = built-in ("+st.Kind.Name()+")")
			}
		}
		ps.Config = p.renderBody(st.Step.Body, evalCtx, 0, absent(st, evalCtx))
		if pl, ok := st.Kind.(steps.Planner); ok && opts.DryRun && opts.Cluster != nil && !knownFalse(st.When, evalCtx) {
			before := p.plannedBefore(name, left, unknown)
			diff, computed, err := p.stageDiff(ctx, pl, st, evalCtx, opts, before)
			ps.Diff = diff
			switch {
			case err != nil && whenKnown(st.When, evalCtx):
				ps.Error = err.Error()
				ps.Diff = "error: " + err.Error()
			case err != nil:
				// The run may skip the stage: its failure is not the plan's.
				ps.Diff = "error (if the stage runs: " + p.renderExpr(st.When, evalCtx) + "): " + err.Error()
			}
			if _, ro := st.Kind.(steps.ReadOnly); !ro {
				if computed && whenKnown(st.When, evalCtx) {
					left[name] = before
				} else {
					unknown[name] = true
				}
			}
		}
		if r, ok := st.Kind.(steps.Renderer); ok && opts.ShowManifests {
			ps.Manifests = p.stageManifests(r, st, evalCtx)
		}
		for i := range ps.Manifests {
			ps.Manifests[i] = red.String(ps.Manifests[i])
		}
		for i := range ps.Settings {
			ps.Settings[i] = red.String(ps.Settings[i])
		}
		for i := range ps.Config {
			ps.Config[i].Text = red.String(ps.Config[i].Text)
		}
		ps.Diff, ps.Error = red.String(ps.Diff), red.String(ps.Error)
		out = append(out, ps)
	}
	return out
}

// stageDiff is a stage's account of its changes, starting from what the
// stages before it leave, and whether it could be computed; err is why its
// plan failed (the cluster refused a request of it): the run fails there.
func (p *Program) stageDiff(ctx context.Context, pl steps.Planner, st *Stage, evalCtx *hcl.EvalContext, opts Options, before *steps.Planned) (diff string, computed bool, err error) {
	cfg, diags := hcldec.Decode(st.Step.Body, st.Step.Spec, evalCtx)
	if diags.HasErrors() {
		return "", false, nil
	}
	cfg, _ = cfg.UnmarkDeep()
	if !cfg.IsWhollyKnown() {
		return "(changes depend on earlier stages; not computed)", false, nil
	}
	env := &steps.Env{Pipeline: p.Name, Stage: st.Name, Namespace: p.Namespace, Dir: p.Config.Dir,
		DryRun: true, Cluster: opts.Cluster, Body: st.Step.Body, EvalContext: evalCtx, Planned: before}
	diff, err = pl.Plan(ctx, env, cfg)
	return diff, err == nil, err
}

// plannedBefore is what the stages name depends on leave, as their plans
// computed it (left), in the order they run; unknown are those whose
// changes could not be computed, named as what a value is known after.
func (p *Program) plannedBefore(name string, left map[string]*steps.Planned, unknown map[string]bool) *steps.Planned {
	up := map[string]bool{}
	queue := slices.Clone(p.Stages[name].Deps)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if !up[n] {
			up[n] = true
			queue = append(queue, p.Stages[n].Deps...)
		}
	}
	var after []string
	for _, n := range p.Order {
		if up[n] && unknown[n] {
			after = append(after, n)
		}
	}
	out := steps.NewPlanned(name, after)
	for _, n := range p.Order {
		if l := left[n]; up[n] && l != nil {
			out.After(l)
		}
	}
	return out
}

// absent names the nested blocks of a stage's step that its kind counts as
// absent (steps.Chooser), once its values are known.
func absent(st *Stage, ctx *hcl.EvalContext) []string {
	ch, ok := st.Kind.(steps.Chooser)
	if !ok {
		return nil
	}
	cfg, diags := hcldec.Decode(st.Step.Body, st.Step.Spec, ctx)
	if diags.HasErrors() {
		return nil
	}
	cfg, _ = cfg.UnmarkDeep()
	if !cfg.IsWhollyKnown() {
		return nil
	}
	return ch.Absent(cfg)
}

// renderBody shows a step block's attributes in source order, then its
// nested blocks.
func (p *Program) renderBody(body hcl.Body, ctx *hcl.EvalContext, depth int, absent []string) []PlanLine {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	attrs := make([]*hclsyntax.Attribute, 0, len(sb.Attributes))
	width := 0
	for _, a := range sb.Attributes {
		if v, diags := a.Expr.Value(ctx); !diags.HasErrors() && v.IsNull() {
			continue // null is not set: an input the stage does not use
		}
		attrs = append(attrs, a)
		width = max(width, len(a.Name))
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	var out []PlanLine
	for _, a := range attrs {
		out = append(out, PlanLine{Depth: depth, Text: fmt.Sprintf("%-*s = %s", width, a.Name, p.renderExpr(a.Expr, ctx))})
	}
	for _, b := range sb.Blocks {
		if slices.Contains(absent, b.Type) {
			continue
		}
		out = append(out, PlanLine{Depth: depth, Text: strings.Join(append([]string{b.Type}, b.Labels...), " ") + " {"})
		out = append(out, p.renderBody(b.Body, ctx, depth+1, nil)...)
		out = append(out, PlanLine{Depth: depth, Text: "}"})
	}
	return out
}

// renderExpr shows a value when it is known now, "(sensitive)" for secrets,
// and otherwise what it waits for.
func (p *Program) renderExpr(e hcl.Expression, ctx *hcl.EvalContext) string {
	lazy, stagesNeeded := false, map[string]bool{}
	for _, tr := range e.Variables() {
		switch root := tr.RootName(); {
		case slices.Contains(p.bound(), root):
			lazy = true
		case root == "stage":
			if len(tr) > 1 {
				if a, ok := tr[1].(hcl.TraverseAttr); ok {
					stagesNeeded[a.Name] = true
				}
			}
		}
	}
	if lazy {
		return "(evaluated at run time: " + p.exprSource(e) + ")"
	}
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return "(error: " + diagText(diags) + ")"
	}
	if v.HasMark(Sensitive) || v.ContainsMarked() {
		return "(sensitive)"
	}
	if !v.IsWhollyKnown() {
		var names []string
		for n := range stagesNeeded {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) == 0 {
			return "(known at run time)"
		}
		return "(known after " + strings.Join(names, ", ") + ")"
	}
	return renderValue(v)
}

// renderValue is HCL syntax for v, with long text summarized so a plan of
// manifests stays readable.
func renderValue(v cty.Value) string {
	if v.Type().IsCapsuleType() {
		if a := steps.AnalysisOf(v); a != nil {
			return "analysis." + a.Name
		}
		return v.GoString()
	}
	if v.Type() == cty.String && !v.IsNull() {
		s := v.AsString()
		if n := strings.Count(s, "\n"); n > 1 || len(s) > 120 {
			first, _, _ := strings.Cut(s, "\n")
			if len(first) > 60 {
				first = first[:60] + "…"
			}
			return fmt.Sprintf("<%d lines, %d bytes: %q…>", n+1, len(s), first)
		}
	}
	if v.CanIterateElements() && !v.IsNull() && v.Type().IsTupleType() || v.Type().IsListType() {
		if v.IsNull() {
			return "null"
		}
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			parts = append(parts, renderValue(e))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	if !v.IsNull() && (v.Type().IsObjectType() || v.Type().IsMapType()) {
		// One line: a plan is read as a list of settings.
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			parts = append(parts, k.AsString()+" = "+renderValue(e))
		}
		if len(parts) == 0 {
			return "{}"
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return strings.TrimSpace(string(hclwrite.TokensForValue(v).Bytes()))
}

// exprSource is the expression as written.
func (p *Program) exprSource(e hcl.Expression) string {
	r := e.Range()
	if src, ok := p.Config.Parser.Sources()[r.Filename]; ok && r.End.Byte <= len(src) {
		return string(src[r.Start.Byte:r.End.Byte])
	}
	return r.String()
}

// knownFalse reports a `when` that is false before the run: such a stage
// will be skipped, so its changes are not worth computing.
func knownFalse(e hcl.Expression, ctx *hcl.EvalContext) bool {
	if e == nil {
		return false
	}
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return false
	}
	v, _ = v.UnmarkDeep()
	return v.IsKnown() && !v.IsNull() && v.Type() == cty.Bool && v.False()
}

// whenKnown reports a `when` whose value is known before the run (or no
// `when`): one that reads an earlier stage's output is decided by the run.
// One that cannot be evaluated is left for validate to report.
func whenKnown(e hcl.Expression, ctx *hcl.EvalContext) bool {
	if e == nil {
		return true
	}
	v, diags := e.Value(ctx)
	return diags.HasErrors() || v.IsWhollyKnown()
}

// fromDefaults marks a setting plan shows that the defaults block gave.
func (st *Stage) fromDefaults(setting string) string {
	if slices.Contains(st.FromDefaults, setting) {
		return " (from defaults)"
	}
	return ""
}
