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
// target before the run ("" namespace: the pipeline's, else the
// kubeconfig context's; "" context: the kubeconfig's current one).
type PlanTarget struct {
	Name       string            `json:"name"`
	Context    string            `json:"context,omitempty"`
	Kubeconfig string            `json:"kubeconfig,omitempty"`
	Namespace  string            `json:"namespace,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Stages     []string          `json:"stages"`
	Skipped    []string          `json:"skipped,omitempty"`
}

// PlanWaves lists the waves in the order they run, each target with the
// stages its share runs: a stage whose when is known false with `target`
// bound to it is skipped there (docs/design.md, "Targets and waves").
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
				if knownFalse(p.Stages[n].When, p.Stages[n].Context(ctx)) {
					pt.Skipped = append(pt.Skipped, n)
				} else {
					pt.Stages = append(pt.Stages, n)
				}
			}
			pw.Targets = append(pw.Targets, pt)
		}
		out = append(out, pw)
	}
	return out
}
