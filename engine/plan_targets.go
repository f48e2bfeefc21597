package engine

// PlanWave is what plan says about one wave of a pipeline with targets:
// its targets, in the order they are released, and its bounds.
type PlanWave struct {
	Name        string       `json:"name"`
	Parallelism int          `json:"parallelism"`
	MaxFailures int          `json:"max_failures"`
	Targets     []PlanTarget `json:"targets"`
}

// PlanTarget is one target's share as plan shows it: where it runs and
// the stages it runs. Skipped are the stages whose when is false for this
// target before the run, Conditional those whose when only the run can
// tell (it reads an earlier stage's output) ("" namespace: the
// pipeline's, else the kubeconfig context's; "" context: the kubeconfig's
// current one).
type PlanTarget struct {
	Name        string            `json:"name"`
	Context     string            `json:"context,omitempty"`
	Kubeconfig  string            `json:"kubeconfig,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Stages      []string          `json:"stages"`
	Conditional []PlanCondition   `json:"conditional,omitempty"`
	Skipped     []string          `json:"skipped,omitempty"`
	// Plan is what each stage would change in the target's cluster
	// (plan --dry-run=server), computed there: the stages whose plan
	// says something, in order.
	Plan []PlanChange `json:"plan,omitempty"`
	// NotPlanned: plan --dry-run=server --target chose another target.
	NotPlanned bool `json:"not_planned,omitempty"`
}

// PlanChange is one stage's changes in one target's cluster: Diff and
// Error as PlanStage has them.
type PlanChange struct {
	Stage string `json:"stage"`
	Diff  string `json:"diff"`
	Error string `json:"error,omitempty"`
}

// PlanCondition is a stage that runs or is skipped as its when turns out
// during the run: When is how plan shows it, "(known after switch)".
type PlanCondition struct {
	Stage string `json:"stage"`
	When  string `json:"when"`
}

// PlanWaves lists the waves in the order they run, each target with the
// stages its share runs: a stage's when is evaluated with `target` bound
// to it; known false, the stage is skipped there; unknown (it reads an
// earlier stage's output), the run decides (docs/design.md, "Targets and
// waves").
func (p *Program) PlanWaves() []PlanWave {
	red := p.Redactor()
	var out []PlanWave
	for _, w := range p.Waves {
		pw := PlanWave{Name: w.Name, Parallelism: w.Parallelism, MaxFailures: w.MaxFailures, Targets: []PlanTarget{}}
		for _, name := range w.Targets {
			t, ok := p.TargetNamed(name)
			if !ok {
				continue
			}
			ns := t.Namespace
			if ns == "" {
				ns = p.Namespace
			}
			pt := PlanTarget{Name: t.Name, Context: red.String(t.Context), Kubeconfig: red.String(t.Kubeconfig), Namespace: red.String(ns), Labels: map[string]string{}, Stages: []string{}}
			for k, v := range t.Labels {
				pt.Labels[k] = red.String(v)
			}
			ctx := p.EvalContext(nil)
			ctx.Variables["target"] = t.value(ns)
			for _, n := range p.Order {
				st := p.Stages[n]
				sctx := st.Context(ctx)
				switch {
				case knownFalse(st.When, sctx):
					pt.Skipped = append(pt.Skipped, n)
				case !whenKnown(st.When, sctx):
					pt.Conditional = append(pt.Conditional, PlanCondition{Stage: n, When: red.String(p.renderExpr(st.When, sctx))})
				default:
					pt.Stages = append(pt.Stages, n)
				}
			}
			pw.Targets = append(pw.Targets, pt)
		}
		out = append(out, pw)
	}
	return out
}
