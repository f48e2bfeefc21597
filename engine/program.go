// Package engine evaluates a loaded pipeline (package config) and runs it:
// variables, locals and stage settings are evaluated up front, each stage's
// step block when its dependencies are done.
package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/engine/dag"
	"github.com/cutoverhq/cutover/engine/parallel"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/notify"
	"github.com/cutoverhq/cutover/steps"
)

type ctxFuncs = map[string]function.Function

// Program is a pipeline ready to plan or run: everything that can be known
// before the first stage is evaluated and checked.
type Program struct {
	Config      *config.Config
	Name        string
	Description string
	Namespace   string
	Parallelism int
	// Lock names the pipeline's lock: the pipeline's name unless `lock`
	// gives another; "" when `lock = false` opts out.
	Lock      string
	OnFailure string // "undo" | "stop"
	Timeout   time.Duration

	Vars map[string]cty.Value // sensitive ones carry the Sensitive mark
	// Missing names the required variables given no value, when
	// Inputs.AllowMissing let them be unknown.
	Missing []string
	Locals  map[string]cty.Value
	Stages  map[string]*Stage
	Graph   *dag.Graph
	// Notify are the evaluated notify blocks, for package notify.
	Notify []notify.Target
	// Order is a topological order of the stages, declaration order first.
	Order []string
	// Targets and Waves: the target and wave blocks (none: one cluster).
	Targets []Target
	Waves   []Wave

	funcs ctxFuncs
	// stageOrder is every address in declaration order; instances maps a
	// stage with for_each to its instances' addresses, in for_each order.
	stageOrder []string
	instances  map[string][]string
	defaults   stageDefaults
	// marked: some variable is sensitive (holds a mark). Marks start only
	// there (functions pass them on, none adds one), so without any, no
	// value evaluated in the pipeline can hold one.
	marked bool
}

// stageDefaults is the defaults block, evaluated once.
type stageDefaults struct {
	timeout    time.Duration
	retry      RetryPolicy
	hasTimeout bool
	hasRetry   bool
}

// Stage is a stage with its settings evaluated.
type Stage struct {
	*config.Stage
	// Name is the stage's address: its name, or NAME["KEY"] for an
	// instance of a stage with for_each (Address).
	Name string
	// Key is an instance's key (each.key); "" for a stage without for_each.
	Key string
	// Deps are the addresses this stage waits for (config.Stage.Deps
	// names stages; a stage with for_each is its instances here).
	Deps    []string
	Kind    steps.Kind
	Timeout time.Duration // 0: none
	Retry   RetryPolicy
	// FromDefaults names the settings taken from the defaults block.
	FromDefaults []string

	each cty.Value // each.key and each.value; cty.NilVal without for_each
	// nsChecks are the rest of its steps' checks, to run once the run's
	// namespace is known (CheckNamespace). Kept on the stage, which
	// Prepare checks beside others, each writing only its own.
	nsChecks []nsCheck
}

// Prepare loads nothing: it evaluates a loaded Config with the given
// variable inputs. Every problem is reported at once.
func Prepare(cfg *config.Config, in Inputs) (*Program, hcl.Diagnostics) {
	p := &Program{
		Config: cfg, Name: cfg.Pipeline.Name, Parallelism: 4, OnFailure: "undo",
		Stages: make(map[string]*Stage, len(cfg.Stages)), funcs: functions(cfg.Dir),
		stageOrder: make([]string, 0, len(cfg.StageOrder)),
	}
	// A variable without a valid value is unknown from here on, so the
	// rest of the pipeline is still checked in the same pass.
	vars, missing, diags := resolveVariables(cfg, in, p.funcs)
	p.Vars, p.Missing = vars, missing
	p.marked = anyMarked(vars)
	diags = append(diags, p.evalLocals()...)
	diags = append(diags, p.evalPipeline()...)
	diags = append(diags, p.evalNotify()...)
	static := p.staticContext()
	diags = append(diags, p.evalDefaults(static)...)
	diags = append(diags, p.evalTargets(static)...)
	diags = append(diags, p.expand(static)...)
	diags = append(diags, p.link()...)
	planCtx := p.EvalContext(nil) // built once: it holds every stage
	// Each stage is checked on its own (it writes only its Stage): on
	// every processor at once, then reported in order.
	found := make([]hcl.Diagnostics, len(p.stageOrder))
	parallel.For(len(p.stageOrder), func(i int) bool {
		found[i] = p.prepareStage(p.Stages[p.stageOrder[i]], static, planCtx)
		return true
	})
	// What one stage said at a place, another need not repeat: the
	// instances of a for_each, the stages referring to one analysis block.
	seen := map[string]bool{}
	for i := range p.stageOrder {
		for _, d := range found[i] {
			key := fmt.Sprint(d.Subject, d.Summary, d.Detail)
			if seen[key] {
				continue
			}
			seen[key] = true
			diags = append(diags, d)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Analyses)) {
		a := cfg.Analyses[name]
		if a.Spec != nil {
			_, d := hcldec.Decode(a.Body, a.Spec, planCtx)
			diags = append(diags, d...)
		}
	}
	return p, diags
}

// staticContext is for settings known before any stage runs.
func (p *Program) staticContext() *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   objectOrEmpty(p.Vars),
			"local": objectOrEmpty(p.Locals),
		},
		Functions: p.funcs,
	}
}

func (p *Program) evalLocals() hcl.Diagnostics {
	p.Locals = map[string]cty.Value{}
	g := dag.New()
	for _, n := range slices.Sorted(maps.Keys(p.Config.Locals)) {
		g.Add(n)
	}
	for _, n := range slices.Sorted(maps.Keys(p.Config.Locals)) {
		for _, tr := range p.Config.Locals[n].Expr.Variables() {
			if tr.RootName() == "local" && len(tr) > 1 {
				if a, ok := tr[1].(hcl.TraverseAttr); ok && g.Has(a.Name) {
					g.Connect(n, a.Name)
				}
			}
		}
	}
	var diags hcl.Diagnostics
	for _, n := range g.Order() {
		v, d := p.Config.Locals[n].Expr.Value(p.staticContext())
		diags = append(diags, d...)
		if d.HasErrors() {
			v = cty.DynamicVal
		}
		p.Locals[n] = v
	}
	return diags
}

func (p *Program) evalPipeline() hcl.Diagnostics {
	c := p.Config.Pipeline
	ctx := p.staticContext()
	var diags hcl.Diagnostics
	diags = append(diags, evalString(c.Description, ctx, &p.Description)...)
	diags = append(diags, evalString(c.Namespace, ctx, &p.Namespace)...)
	diags = append(diags, p.evalLock(c.Lock, ctx)...)
	diags = append(diags, evalString(c.OnFailure, ctx, &p.OnFailure)...)
	if p.OnFailure != "undo" && p.OnFailure != "stop" {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid on_failure",
			Detail: fmt.Sprintf("on_failure is \"undo\" or \"stop\", not %q.", p.OnFailure), Subject: c.OnFailure.Range().Ptr()})
	}
	var par int64 = int64(p.Parallelism)
	diags = append(diags, evalInt(c.Parallelism, ctx, &par)...)
	if c.Parallelism != nil && par < 1 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid parallelism",
			Detail: "parallelism must be at least 1.", Subject: c.Parallelism.Range().Ptr()})
	}
	p.Parallelism = int(par)
	diags = append(diags, evalDuration(c.Timeout, ctx, &p.Timeout)...)
	return diags
}

// evalDefaults evaluates the defaults block once, for every stage that
// does not set its own.
func (p *Program) evalDefaults(ctx *hcl.EvalContext) hcl.Diagnostics {
	d := p.Config.Defaults
	if d == nil {
		return nil
	}
	diags := evalDuration(d.Timeout, ctx, &p.defaults.timeout)
	p.defaults.hasTimeout = d.Timeout != nil
	rp, rd := evalRetry(d.Retry, ctx)
	p.defaults.retry, p.defaults.hasRetry = rp, d.Retry != nil
	return append(diags, rd...)
}

func (p *Program) prepareStage(st *Stage, static, planCtx *hcl.EvalContext) hcl.Diagnostics {
	cs := st.Stage
	var diags hcl.Diagnostics
	ctx := st.Context(static)
	if cs.Timeout == nil && p.defaults.hasTimeout {
		st.Timeout = p.defaults.timeout
		st.FromDefaults = append(st.FromDefaults, "timeout")
	} else {
		diags = append(diags, evalDuration(cs.Timeout, ctx, &st.Timeout)...)
	}
	if cs.Retry == nil && p.defaults.hasRetry {
		st.Retry = p.defaults.retry
		st.FromDefaults = append(st.FromDefaults, "retry")
	} else {
		rp, d := evalRetry(cs.Retry, ctx)
		diags = append(diags, d...)
		st.Retry = rp
	}
	planCtx = st.Context(planCtx)
	if cs.When != nil {
		v, d := cs.When.Value(planCtx)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if _, err := convert.Convert(v, cty.Bool); err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid when",
					Detail: "when must be true or false: " + err.Error() + ".", Subject: cs.When.Range().Ptr()})
			}
		}
	}
	for _, step := range []*config.Step{cs.Step, undoStep(cs)} {
		if step == nil || step.Kind == nil {
			continue
		}
		inNamespace, d := checkStep(step, planCtx, p.Config.Dir, p.Namespace, p.marked)
		diags = append(diags, d...)
		if inNamespace != nil && !d.HasErrors() {
			st.nsChecks = append(st.nsChecks, nsCheck{step, inNamespace})
		}
	}
	return diags
}

func undoStep(cs *config.Stage) *config.Step {
	if cs.Undo == nil {
		return nil
	}
	return cs.Undo.Step
}

// checkStep decodes a step block with unknown stage outputs: types,
// required and unsupported attributes are checked, then the kind's Checker
// and, when that found nothing, its FileChecker (files relative to dir,
// the pipeline's namespace ns), whose rest, to run once the run's
// namespace is known, it returns (nil: none). marked says whether any
// value the block can read carries a mark.
func checkStep(step *config.Step, ctx *hcl.EvalContext, dir, ns string, marked bool) (inNamespace func(ns string) []steps.Problem, diags hcl.Diagnostics) {
	cfg, diags := decodeStep(step.Body, step.Spec, ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	// Looking for marks is a walk of the whole value, and unmarking copies
	// it: both only when a sensitive variable could have put one there.
	if marked && cfg.ContainsMarked() {
		cfg, _ = cfg.UnmarkDeep()
	}
	var problems []steps.Problem
	if ch, ok := step.Kind.(steps.Checker); ok {
		problems = ch.Check(cfg)
	}
	if fc, ok := step.Kind.(steps.FileChecker); ok && len(problems) == 0 {
		problems, inNamespace = fc.CheckFiles(dir, ns, cfg)
	}
	return inNamespace, append(diags, problemDiags(step, problems)...)
}

// problemDiags places a kind's problems in the step's block, or where the
// problem says (a chart's template).
func problemDiags(step *config.Step, problems []steps.Problem) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, pr := range problems {
		subject := pr.Subject
		if subject == nil {
			subject = steps.RangeOf(step.Body, pr.Path, step.DeclRange).Ptr()
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: pr.Summary, Detail: pr.Detail, Subject: subject,
		})
	}
	return diags
}

// nsCheck is the rest of a step's load-time check (steps.FileChecker).
type nsCheck struct {
	step  *config.Step
	check func(ns string) []steps.Problem
}

// CheckNamespace runs the checks that depend on the namespace the run acts
// in (steps.FileChecker's rest), once the command resolved it: a deploy
// whose chart or overlay renders its workload into another namespace is a
// diagnostic before the lock and any write.
func (p *Program) CheckNamespace(ns string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range p.stageOrder {
		for _, c := range p.Stages[name].nsChecks {
			diags = append(diags, problemDiags(c.step, c.check(ns))...)
		}
	}
	return diags
}

func anyMarked(vars map[string]cty.Value) bool {
	for _, v := range vars {
		if v.IsMarked() || v.ContainsMarked() {
			return true
		}
	}
	return false
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// PlainVars returns the variables that are not sensitive, as typed JSON, for the
// journal: a resumed run or an undo evaluates the pipeline with them.
func (p *Program) PlainVars() map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for name, v := range p.Vars {
		if v.HasMark(Sensitive) || v.ContainsMarked() || v.IsNull() || !v.IsWhollyKnown() {
			continue
		}
		// With its type: a value read back is the value given, not text
		// parsed again by the variable's type.
		b, err := ctyjson.Marshal(v, cty.DynamicPseudoType)
		if err != nil {
			continue
		}
		out[name] = b
	}
	return out
}

// SavedValues reads back what PlainVars stored.
func SavedValues(saved map[string]json.RawMessage) (map[string]cty.Value, error) {
	out := make(map[string]cty.Value, len(saved))
	for name, b := range saved {
		v, err := ctyjson.Unmarshal(b, cty.DynamicPseudoType)
		if err != nil {
			return nil, fmt.Errorf("the saved value of variable %q: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

// evalLock reads `lock`: a name, true (the pipeline's name, the default) or
// false (no lock: two runs may then release at once, which the user chose).
func (p *Program) evalLock(e hcl.Expression, ctx *hcl.EvalContext) hcl.Diagnostics {
	p.Lock = p.Name
	if e == nil {
		return nil
	}
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return diags
	}
	v, _ = v.Unmark()
	switch {
	case !v.IsKnown():
		// Only when a variable was let be unknown (validate, graph): the
		// name is known once the variables are.
	case v.IsNull():
		return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid lock",
			Detail: "lock is a name, true or false, not null.", Subject: e.Range().Ptr()})
	case v.Type() == cty.Bool:
		if v.False() {
			p.Lock = ""
		}
	case v.Type() == cty.String:
		if v.AsString() == "" {
			return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid lock",
				Detail: "The lock name is empty; write lock = false to run without a lock.", Subject: e.Range().Ptr()})
		}
		p.Lock = v.AsString()
	default:
		return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid lock",
			Detail: fmt.Sprintf("lock is a name, true or false, not %s.", words.A(v.Type().FriendlyName())), Subject: e.Range().Ptr()})
	}
	return diags
}
