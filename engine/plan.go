package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/steps"
)

// PlanStage is what plan says about one stage.
type PlanStage struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	After    []string `json:"after,omitempty"`
	Settings []string `json:"settings,omitempty"` // when, timeout, retry, undo
	// Config is the step block as plan's text shows it, line by line;
	// Step is the same as data (what a program reads): Config is made
	// from it, so the two never disagree.
	Config []PlanLine `json:"config"`
	Step   *PlanBlock `json:"step"`
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

// PlanBlock is a step block as plan evaluates it: the stage's step (Type
// its kind) or a block nested in it (a deploy's chart).
type PlanBlock struct {
	Type       string      `json:"type"`
	Labels     []string    `json:"labels,omitempty"`
	Attributes []PlanAttr  `json:"attributes"`
	Blocks     []PlanBlock `json:"blocks,omitempty"`
}

// PlanAttr is one attribute of a step block, in source order; one whose
// value is null is not set and not listed.
type PlanAttr struct {
	Name string `json:"name"`
	// Text is the value as the text plan shows it.
	Text string `json:"text"`
	// Known: Value is the value, as JSON (an analysis reference is its
	// name, "analysis.NAME"). Otherwise the value is sensitive (hidden),
	// waits for the stages of KnownAfter, could not be evaluated (Error),
	// or is known only at run time (Text says which).
	Known      bool            `json:"known"`
	Value      json.RawMessage `json:"value,omitempty"`
	Sensitive  bool            `json:"sensitive,omitempty"`
	KnownAfter []string        `json:"known_after,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// lines are b's attributes and nested blocks as the text plan shows them,
// the names of a block's attributes aligned.
func (b *PlanBlock) lines(depth int) []PlanLine {
	width := 0
	for _, a := range b.Attributes {
		width = max(width, len(a.Name))
	}
	var out []PlanLine
	for _, a := range b.Attributes {
		out = append(out, PlanLine{Depth: depth, Text: fmt.Sprintf("%-*s = %s", width, a.Name, a.Text)})
	}
	for _, nb := range b.Blocks {
		out = append(out, PlanLine{Depth: depth, Text: strings.Join(append([]string{nb.Type}, nb.Labels...), " ") + " {"})
		out = append(out, nb.lines(depth+1)...)
		out = append(out, PlanLine{Depth: depth, Text: "}"})
	}
	return out
}

// redact hides in b what red hides in every output: a sensitive value met
// where no mark says so.
func (b *PlanBlock) redact(red events.Redactor) {
	for i := range b.Attributes {
		a := &b.Attributes[i]
		a.Name, a.Text, a.Error = red.String(a.Name), red.String(a.Text), red.String(a.Error)
		a.Value = red.JSON(a.Value)
	}
	for i := range b.Blocks {
		b.Blocks[i].redact(red)
	}
}

// Plan evaluates every stage as far as it can be known before the run.
// With a cluster in opts and DryRun set, kinds that can describe their
// changes against the live objects do so.
//
// With opts.Target, it is that target's share: `target` is bound to it,
// the stages act in opts.Namespace (else the pipeline's), and opts.Cluster
// is the target's cluster.
func (p *Program) Plan(ctx context.Context, opts Options) []PlanStage {
	evalCtx := p.EvalContext(nil)
	if t, ok := p.TargetNamed(opts.Target); ok {
		evalCtx.Variables["target"] = t.value(p.planNamespace(opts))
	}
	red := p.Redactor()
	var out []PlanStage
	rh := p.newRehearsal()
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
		ps.Step = p.planBlock(st.Kind.Name(), nil, st.Step.Body, evalCtx, absent(st, evalCtx))
		if pl, ok := st.Kind.(steps.Planner); ok && opts.DryRun && opts.Cluster != nil && !knownFalse(st.When, evalCtx) {
			before := rh.before(name)
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
			rh.done(st, before, computed && whenKnown(st.When, evalCtx))
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
		ps.Step.redact(red)
		ps.Config = ps.Step.lines(0)
		for i := range ps.Config {
			ps.Config[i].Text = red.String(ps.Config[i].Text) // a name or a brace too
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
		stages, unknown := p.waitsFor(st, evalCtx)
		_, binds := st.Kind.(steps.Binder)
		switch _, ro := st.Kind.(steps.ReadOnly); {
		case binds && len(stages) == 0 && !unknown:
			// Unknown only where it reads what it binds itself (a
			// verify's conditions over result), as in the run.
		case ro:
			// A check whose settings read an earlier stage's output:
			// nothing to compute, only when it is decided.
			return "(changes nothing: it only reads; what it checks is " + knownAfter(stages) + ")", false, nil
		default:
			return "(changes depend on earlier stages; not computed)", false, nil
		}
	}
	env := &steps.Env{Pipeline: p.Name, Stage: st.Name, Namespace: p.planNamespace(opts), Dir: p.Config.Dir, Target: opts.Target,
		DryRun: true, Cluster: opts.Cluster, Body: st.Step.Body, EvalContext: evalCtx, Planned: before}
	diff, err = pl.Plan(ctx, env, cfg)
	return diff, err == nil, err
}

// planNamespace is where a plan's stages act: a target's share's
// namespace, else the pipeline's ("" : the kubeconfig context's).
func (p *Program) planNamespace(opts Options) string {
	if opts.Target != "" && opts.Namespace != "" {
		return opts.Namespace
	}
	return p.Namespace
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

// planBlock is a step block's attributes in source order, then its nested
// blocks.
func (p *Program) planBlock(typ string, labels []string, body hcl.Body, ctx *hcl.EvalContext, absent []string) *PlanBlock {
	b := &PlanBlock{Type: typ, Labels: labels, Attributes: []PlanAttr{}}
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return b
	}
	attrs := make([]*hclsyntax.Attribute, 0, len(sb.Attributes))
	for _, a := range sb.Attributes {
		if v, diags := a.Expr.Value(ctx); !diags.HasErrors() && v.IsNull() {
			continue // null is not set: an input the stage does not use
		}
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	for _, a := range attrs {
		pa := p.planExpr(a.Expr, ctx)
		pa.Name = a.Name
		b.Attributes = append(b.Attributes, pa)
	}
	for _, nb := range sb.Blocks {
		if !slices.Contains(absent, nb.Type) {
			b.Blocks = append(b.Blocks, *p.planBlock(nb.Type, nb.Labels, nb.Body, ctx, nil))
		}
	}
	return b
}

// renderExpr shows a value when it is known now, "(sensitive)" for secrets,
// and otherwise what it waits for.
func (p *Program) renderExpr(e hcl.Expression, ctx *hcl.EvalContext) string {
	return p.planExpr(e, ctx).Text
}

// planExpr is an expression as plan shows it (renderExpr), and as data.
func (p *Program) planExpr(e hcl.Expression, ctx *hcl.EvalContext) PlanAttr {
	lazy := false
	for _, tr := range e.Variables() {
		if slices.Contains(p.bound(), tr.RootName()) {
			lazy = true
		}
	}
	if lazy {
		return PlanAttr{Text: "(evaluated at run time: " + p.exprSource(e) + ")"}
	}
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return PlanAttr{Text: "(error: " + diagText(diags) + ")", Error: diagText(diags)}
	}
	if v.HasMark(Sensitive) || v.ContainsMarked() {
		return PlanAttr{Text: "(sensitive)", Sensitive: true}
	}
	if !v.IsWhollyKnown() {
		names := stagesRead(e.Variables())
		return PlanAttr{Text: "(" + knownAfter(names) + ")", KnownAfter: names}
	}
	b, err := json.Marshal(plainValue(v))
	if err != nil {
		return PlanAttr{Text: renderValue(v), Error: err.Error()}
	}
	return PlanAttr{Text: renderValue(v), Known: true, Value: b}
}

// waitsFor names the stages whose outputs st's settings read, and says
// whether any other value they read is unknown before the run (the names
// a kind binds itself aside).
func (p *Program) waitsFor(st *Stage, ctx *hcl.EvalContext) (stages []string, unknown bool) {
	trs := hcldec.Variables(st.Step.Body, st.Step.Spec)
	for _, tr := range trs {
		if root := tr.RootName(); root == "stage" || slices.Contains(p.bound(), root) {
			continue
		}
		if v, diags := tr.TraverseAbs(ctx); diags.HasErrors() || !v.IsWhollyKnown() {
			unknown = true
		}
	}
	return stagesRead(trs), unknown
}

// stagesRead names the stages whose outputs the traversals read, sorted.
func stagesRead(trs []hcl.Traversal) []string {
	var names []string
	for _, tr := range trs {
		if tr.RootName() != "stage" || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok && !slices.Contains(names, a.Name) {
			names = append(names, a.Name)
		}
	}
	sort.Strings(names)
	return names
}

// knownAfter says when a value that reads the stages' outputs is known.
func knownAfter(stages []string) string {
	if len(stages) == 0 {
		return "known at run time"
	}
	return "known after " + strings.Join(stages, ", ")
}

// plainValue is a known, unmarked value as encoding/json writes it: an
// analysis reference (a capsule) as its name, numbers exact.
func plainValue(v cty.Value) any {
	switch t := v.Type(); {
	case v.IsNull():
		return nil
	case t.IsCapsuleType():
		return renderValue(v)
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t == cty.Number:
		return json.Number(v.AsBigFloat().Text('f', -1))
	case t.IsObjectType() || t.IsMapType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = plainValue(e)
		}
		return out
	case v.CanIterateElements():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, plainValue(e))
		}
		return out
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
