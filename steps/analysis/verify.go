package analysis

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// verifyKind runs an analysis gate as a stage. It writes nothing, so it has
// no undo.
type verifyKind struct{}

func (verifyKind) Name() string { return "verify" }

func (verifyKind) Doc() string {
	return "Runs an analysis gate: measurements of one provider, judged by conditions over `result`, " +
		"until the gate is decided (Argo Rollouts' semantics). Refer to a top-level analysis " +
		"(`analysis = analysis.healthy`) or write its settings and provider block inline, not both. " +
		"A gate that ends in any phase but Successful fails the stage, and is not retried: a verdict is not a transient fault."
}

// AttrDocs: the analysis body's (settings, conditions, providers), and the
// reference to a top-level analysis.
func (verifyKind) AttrDocs() map[string]string {
	out := analysisDocs()
	out["analysis"] = "A top-level analysis to run, as `analysis.NAME`; then no settings or provider block stand here."
	return out
}
func (verifyKind) Spec() hcldec.Spec { return verifySpec() }
func (verifyKind) Output() cty.Type  { return outputType }

// ReadOnly: it only measures (an exec provider's command is a measurement
// too: a resumed run measures again).
func (verifyKind) ReadOnly() {}

// Binds: conditions are evaluated once per measurement, with `result` bound.
func (verifyKind) Binds() []string { return []string{"result"} }

// inlineNames are the verify attributes and blocks that form an inline
// analysis (the settings and the providers); none may appear next to
// `analysis = analysis.X`.
func inlineNames() []string {
	return slices.Sorted(maps.Keys(settingsSpec()))
}

func (verifyKind) Check(cfg cty.Value) []steps.Problem {
	cfg, _ = cfg.UnmarkDeep()
	var ref verifyRef
	if u, _ := steps.Decode(cfg, &ref); ref.Analysis == nil && !u.Has("analysis") {
		return checkSettings(cfg, nil)
	}
	var out []steps.Problem
	for _, n := range inlineNames() {
		if !cfg.GetAttr(n).IsNull() {
			out = append(out, steps.Problem{Path: []string{n}, Summary: "Analysis settings given twice",
				Detail: fmt.Sprintf("This verify refers to an analysis, so %s belongs in that analysis block; remove it here, or drop the analysis reference and write the analysis inline.", n)})
		}
	}
	if a := ref.Analysis; a != nil {
		out = append(out, checkReferenced(a)...)
	}
	return out
}

// checkReferenced validates the literal settings of a referenced analysis.
// The engine has only checked its types; values that need variables or
// functions are unknown here and left for Run.
func checkReferenced(a *steps.Analysis) []steps.Problem {
	spec := AnalysisSpec()
	vars := map[string]cty.Value{}
	for _, t := range hcldec.Variables(a.Body, spec) {
		vars[t.RootName()] = cty.DynamicVal
	}
	v, diags := hcldec.Decode(a.Body, spec, &hcl.EvalContext{Variables: vars})
	if diags.HasErrors() {
		return nil
	}
	ps := checkSettings(v, nil)
	for i := range ps {
		// At the attribute in the analysis block, where the fix goes, not
		// at the stage's reference to it.
		if ps[i].Subject == nil {
			ps[i].Subject = steps.RangeOf(a.Body, ps[i].Path, a.Range).Ptr()
		}
		ps[i].Detail = fmt.Sprintf("In analysis %q, %s: %s", a.Name, pathString(ps[i].Path), ps[i].Detail)
	}
	return ps
}

// prepared is an analysis resolved for one run.
type prepared struct {
	name     string
	settings settings
	provider Measurer
	judge    *judge
}

// prepare resolves the analysis the verify block refers to, or its inline
// form, and builds its provider.
func prepare(env *steps.Env, cfg cty.Value) (*prepared, error) {
	p := &prepared{}
	body, spec, ectx := env.Body, verifySpec(), env.EvalContext
	var ref verifyRef
	steps.Decode(cfg, &ref)
	if a := ref.Analysis; a != nil {
		p.name, body, spec = a.Name, a.Body, AnalysisSpec()
		v, diags := hcldec.Decode(body, spec, withResult(ectx, cty.DynamicVal))
		if diags.HasErrors() {
			return nil, fmt.Errorf("analysis %s: %s", a.Name, diags.Error())
		}
		cfg, _ = v.UnmarkDeep()
	} else {
		p.name = env.Stage
		if p.name == "" {
			p.name = "verify"
		}
	}
	if ps := checkSettings(cfg, nil); len(ps) > 0 {
		var msgs []string
		for _, pr := range ps {
			msgs = append(msgs, fmt.Sprintf("%s: %s", pathString(pr.Path), pr.Detail))
		}
		return nil, fmt.Errorf("analysis %s is invalid: %s", p.name, strings.Join(msgs, "; "))
	}
	p.settings, _ = readSettings(cfg)
	def, prov, err := newProvider(cfg, env)
	if err != nil {
		return nil, fmt.Errorf("analysis %s: %w", p.name, err)
	}
	p.provider = prov
	if p.judge, err = newJudge(body, spec, ectx, def); err != nil {
		return nil, fmt.Errorf("analysis %s: %w", p.name, err)
	}
	return p, nil
}

func (verifyKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	return run(ctx, env, cfg, realClock{})
}

func run(ctx context.Context, env *steps.Env, cfg cty.Value, clk clock) (cty.Value, error) {
	cfg, _ = cfg.UnmarkDeep()
	p, err := prepare(env, cfg)
	if err != nil {
		return cty.NilVal, err
	}
	if env.DryRun {
		// Measuring proves nothing before the release exists, and an exec
		// provider could have effects: a dry run says what it would measure.
		return cty.NilVal, steps.NotRehearsed(output(p.name, &tally{phase: Skipped, last: cty.NullVal(cty.DynamicPseudoType)}),
			fmt.Sprintf("analysis %s not run (%s): it measures the release, which a dry run does not make", p.name, p.describe()))
	}
	env.Report(fmt.Sprintf("analysis %s: %s", p.name, p.describe()))
	g := &gate{name: p.name, s: p.settings, clock: clk, report: env.Report, measure: p.measure}
	t, err := g.run(ctx)
	out := output(p.name, t)
	if err != nil {
		return out, err
	}
	if t.phase != Successful {
		return out, newVerdict(p.name, p.settings, t)
	}
	return out, nil
}

// measure takes and judges one measurement.
func (p *prepared) measure(ctx context.Context) measurement {
	result, value, err := p.provider.Measure(ctx)
	m := measurement{at: time.Now(), value: value, result: result}
	if err != nil {
		m.phase, m.err = Error, err.Error()
		return m
	}
	m.phase, err = p.judge.phase(result)
	if err != nil {
		m.err = err.Error()
	}
	return m
}

// describe says what the gate will do, for progress and plan.
func (p *prepared) describe() string {
	s := p.provider.Describe()
	if p.settings.count > 1 {
		s += fmt.Sprintf(", %d measurements every %s", p.settings.count, p.settings.interval)
	}
	if p.settings.initialDelay > 0 {
		s += fmt.Sprintf(" after %s", p.settings.initialDelay)
	}
	return s
}

// Plan shows the gate without measuring.
func (verifyKind) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	cfg, _ = cfg.UnmarkDeep()
	p, err := prepare(env, cfg)
	if err != nil {
		return "", err
	}
	s := p.settings
	return fmt.Sprintf("analysis %s: %s (failure_limit %d, inconclusive_limit %d, consecutive_error_limit %d)",
		p.name, p.describe(), s.failureLimit, s.inconclusiveLimit, s.consecutiveErrorLimit), nil
}

func output(name string, t *tally) cty.Value {
	ms := make([]cty.Value, 0, len(t.measurements))
	for _, m := range t.measurements {
		ms = append(ms, cty.ObjectVal(map[string]cty.Value{
			"value": cty.StringVal(m.value),
			"phase": cty.StringVal(string(m.phase)),
			"error": cty.StringVal(m.err),
			"time":  cty.StringVal(m.at.UTC().Format(time.RFC3339Nano)),
		}))
	}
	list := cty.ListValEmpty(measurementType)
	if len(ms) > 0 {
		list = cty.ListVal(ms)
	}
	last := t.last
	if last == cty.NilVal {
		last = cty.NullVal(cty.DynamicPseudoType)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name":         cty.StringVal(name),
		"phase":        cty.StringVal(string(t.phase)),
		"successful":   cty.NumberIntVal(int64(t.successful)),
		"failed":       cty.NumberIntVal(int64(t.failed)),
		"inconclusive": cty.NumberIntVal(int64(t.inconclusive)),
		"errors":       cty.NumberIntVal(int64(t.errored)),
		"measurements": list,
		"last":         last,
	})
}
