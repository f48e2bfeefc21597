package main

import (
	"context"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/kube"
)

// planTargets computes, for plan --dry-run=server of a pipeline with
// targets, each target's share in its own cluster (its kubeconfig,
// context and namespace, `target` bound to it), as its run would act
// there: into waves' Plan. It returns the stages the clusters refused, by
// address (deploy["eu-1"]), and how many stages were planned. A target
// whose kubeconfig is wrong, or whose cluster does not answer, is named,
// every one at once, and there is no plan. With --target, only that
// target's share is planned (a CI job that holds its cluster's
// kubeconfig alone), the others marked NotPlanned.
func (c *cli) planTargets(p *engine.Program, o *options, waves []engine.PlanWave) (refused []string, planned, code int) {
	chosen := func(name string) bool { return o.target == "" || o.target == name }
	ok := true
	for i := range p.Targets {
		if t := &p.Targets[i]; chosen(t.Name) {
			ok = c.checkTargetKubeconfig(t, targetOptions(t, o)) && ok
		}
	}
	if !ok {
		return nil, 0, exitInvalid
	}
	ctx := context.Background()
	for i := range waves {
		for j := range waves[i].Targets {
			pt := &waves[i].Targets[j]
			if !chosen(pt.Name) {
				pt.NotPlanned = true
				continue
			}
			t, _ := p.TargetNamed(pt.Name)
			to := targetOptions(t, o)
			cl := c.cluster(to)
			clients, err := cl.Clients()
			if err == nil {
				err = clients.Reachable(ctx)
			}
			if err == nil {
				err = clients.CheckNamespace(ctx, kube.NamespaceOf(clients, to.namespace, p.Namespace))
			}
			if err != nil {
				c.errorf("target %s: %v", t.Name, err)
				if code == exitOK {
					code = exitOf(err)
				}
				continue
			}
			ns := kube.NamespaceOf(clients, to.namespace, p.Namespace)
			for _, s := range p.Plan(ctx, engine.Options{DryRun: true, Cluster: cl, Target: t.Name, Namespace: ns}) {
				planned++
				if s.Error != "" {
					refused = append(refused, engine.Address(s.Name, t.Name))
				}
				if s.Diff != "" {
					pt.Plan = append(pt.Plan, engine.PlanChange{Stage: s.Name, Diff: s.Diff, Error: s.Error})
				}
			}
		}
	}
	return refused, planned, code
}
