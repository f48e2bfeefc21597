package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/kube"
)

func cmdPlan(c *cli, args []string) int {
	o, path, ok := c.parsePath("plan", args)
	if !ok {
		return exitInvalid
	}
	p, cfg, diags := c.prepare(path, o)
	if len(diags) > 0 {
		c.printDiags(cfg, diags, o)
	}
	if diags.HasErrors() {
		if o.output == "json" {
			// No plan: the last line is validate's verdict, as it
			// would say it (invalid, with its counts).
			c.printJSON(validated(nil, cfg, diags))
		}
		return exitInvalid
	}
	if _, ok := c.checkTarget(p, o); !ok {
		return exitInvalid
	}
	c.applyNamespace(p, o)
	if !c.checkNamespaces(p, o, append(targetNamespaces(p), p.Namespace)...) {
		return exitInvalid
	}
	opts := engine.Options{DryRun: o.dryRun == "server", ShowManifests: o.showManifests}
	var waves []engine.PlanWave
	if len(p.Targets) > 0 {
		waves = p.PlanWaves()
	}
	// A stage whose plan the cluster refused fails the run there: the plan
	// is shown whole, and exits as the run would (docs/cli.md, "plan").
	var refused []string
	planned := 0 // stages planned against a cluster
	if opts.DryRun {
		// A server-side plan asks the cluster: without one, or with one
		// that does not answer, there is no plan to show, only an error.
		if !c.hasKubeconfig(o) {
			c.errorf("plan --dry-run=server needs a Kubernetes cluster, and no kubeconfig is configured (--kubeconfig, $KUBECONFIG, ~/.kube/config)")
			return exitInvalid
		}
		if len(p.Targets) > 0 {
			// Each target's share asks its own cluster, under the
			// target; the stages are shown once, with their settings.
			var code int
			if refused, planned, code = c.planTargets(p, o, waves); code != exitOK {
				return code
			}
			opts.DryRun = false
		} else {
			opts.Cluster = c.cluster(o)
			clients, err := opts.Cluster.Clients()
			if err == nil {
				err = clients.Reachable(context.Background())
			}
			if err == nil {
				// As a run would refuse it: before asking about any stage.
				err = clients.CheckNamespace(context.Background(), kube.NamespaceOf(clients, o.namespace, p.Namespace))
			}
			if err != nil {
				c.errorf("%v", err)
				return exitOf(err)
			}
		}
	}
	stages := p.Plan(context.Background(), opts)
	if opts.DryRun {
		planned = len(stages)
		for _, s := range stages {
			if s.Error != "" {
				refused = append(refused, s.Name)
			}
		}
	}
	if o.output == "json" {
		enc := json.NewEncoder(c.stdout)
		_, warns := countDiags(diags)
		doc := map[string]any{"valid": true, "errors": 0, "warnings": warns, "pipeline": p.Name, "stages": stages}
		if len(p.Targets) > 0 {
			doc["waves"] = waves
		}
		if o.dryRun == "server" {
			doc["refused"] = append([]string{}, refused...)
		}
		_ = enc.Encode(doc)
		return c.planRefused(refused, planned)
	}
	// The pipeline's settings are evaluated unmarked: one built from a
	// sensitive variable is hidden here like every stage setting.
	red := p.Redactor()
	fmt.Fprintf(c.stdout, "Plan for pipeline %q: %s, at most %d at a time", p.Name, words.Count(len(stages), "stage"), p.Parallelism)
	if p.Lock != "" {
		fmt.Fprintf(c.stdout, ", lock %q", red.String(p.Lock))
	}
	fmt.Fprintf(c.stdout, ", on failure: %s.\n", p.OnFailure)
	if p.Description != "" {
		fmt.Fprintf(c.stdout, "%s\n", red.String(p.Description))
	}
	for i, s := range stages {
		fmt.Fprintf(c.stdout, "\n%d. %s (%s)", i+1, s.Name, s.Kind)
		if len(s.After) > 0 {
			fmt.Fprintf(c.stdout, " after %s", strings.Join(s.After, ", "))
		}
		fmt.Fprintln(c.stdout)
		for _, set := range s.Settings {
			fmt.Fprintf(c.stdout, "     %s\n", set)
		}
		for _, l := range s.Config {
			fmt.Fprintf(c.stdout, "     %s%s\n", strings.Repeat("  ", l.Depth), l.Text)
		}
		if s.Diff != "" {
			for _, l := range strings.Split(strings.TrimRight(s.Diff, "\n"), "\n") {
				fmt.Fprintf(c.stdout, "     | %s\n", l)
			}
		}
		for _, m := range s.Manifests {
			fmt.Fprintf(c.stdout, "     ---\n")
			for _, l := range strings.Split(strings.TrimRight(m, "\n"), "\n") {
				fmt.Fprintf(c.stdout, "     %s\n", l)
			}
		}
	}
	if len(p.Targets) > 0 {
		c.planWaves(p, waves, o)
	}
	return c.planRefused(refused, planned)
}

// planRefused says how many stages of a server-side plan the cluster
// refused, and exits 1 when any: a CI step gated on the plan fails on a
// manifest the API server would not take, as the run would.
func (c *cli) planRefused(refused []string, stages int) int {
	if len(refused) == 0 {
		return exitOK
	}
	c.errorf("the cluster refused %d of %s (%s): a run fails there", len(refused), words.Count(stages, "stage"), strings.Join(refused, ", "))
	return exitFailed
}

// planWaves shows how a pipeline with targets is released: wave by wave,
// each target with where it runs and the stages its share runs
// (docs/design.md, "Targets and waves").
func (c *cli) planWaves(p *engine.Program, waves []engine.PlanWave, o *options) {
	fmt.Fprintf(c.stdout, "\nTargets: %s in %s, one after the other; each target runs the stages above in its own cluster.\n",
		words.Count(len(p.Targets), "target"), words.Count(len(waves), "wave"))
	for i, w := range waves {
		fmt.Fprintf(c.stdout, "\nwave %d. %s: %s, %d at a time, max_failures %d\n", i+1, w.Name, words.Count(len(w.Targets), "target"), w.Parallelism, w.MaxFailures)
		for _, t := range w.Targets {
			fmt.Fprintf(c.stdout, "  %s: %s\n", t.Name, strings.Join(targetPlace(t), ", "))
			fmt.Fprintf(c.stdout, "     runs %s\n", strings.Join(t.Stages, ", "))
			for _, cond := range t.Conditional {
				// As the stage list above shows a when only the run
				// decides.
				fmt.Fprintf(c.stdout, "     may run %s: when = %s\n", cond.Stage, cond.When)
			}
			if len(t.Skipped) > 0 {
				fmt.Fprintf(c.stdout, "     skips %s (when is false)\n", strings.Join(t.Skipped, ", "))
			}
			if t.NotPlanned {
				fmt.Fprintf(c.stdout, "     not planned (--target %s)\n", o.target)
			}
			for _, ch := range t.Plan {
				fmt.Fprintf(c.stdout, "     %s:\n", ch.Stage)
				for _, l := range strings.Split(strings.TrimRight(ch.Diff, "\n"), "\n") {
					fmt.Fprintf(c.stdout, "       | %s\n", l)
				}
			}
		}
	}
}

// targetPlace says where a target's share runs, as plan shows it.
func targetPlace(t engine.PlanTarget) []string {
	ctxName, ns := "the kubeconfig's current one", "the kubeconfig context's"
	if t.Context != "" {
		ctxName = t.Context
	}
	if t.Namespace != "" {
		ns = t.Namespace
	}
	out := []string{"context " + ctxName}
	if t.Kubeconfig != "" {
		out = append(out, "kubeconfig "+t.Kubeconfig)
	}
	out = append(out, "namespace "+ns)
	if len(t.Labels) > 0 {
		var ls []string
		for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
			ls = append(ls, k+"="+t.Labels[k])
		}
		out = append(out, "labels "+strings.Join(ls, ", "))
	}
	return out
}
