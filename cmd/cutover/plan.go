package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/internal/words"
)

func cmdPlan(c *cli, args []string) int {
	o, path, ok := c.parsePath("plan", args)
	if !ok {
		return exitInvalid
	}
	p, ok := c.load(path, o)
	if !ok {
		return exitInvalid
	}
	c.applyNamespace(p, o)
	opts := engine.Options{DryRun: o.dryRun == "server"}
	if opts.DryRun {
		// A server-side plan asks the cluster: without one, or with one
		// that does not answer, there is no plan to show, only an error.
		if !c.hasKubeconfig(o) {
			c.errorf("plan --dry-run=server needs a Kubernetes cluster, and no kubeconfig is configured (--kubeconfig, $KUBECONFIG, ~/.kube/config)")
			return exitFailed
		}
		opts.Cluster = c.cluster(o)
		clients, err := opts.Cluster.Clients()
		if err == nil {
			err = clients.Reachable(context.Background())
		}
		if err != nil {
			c.errorf("%v", err)
			return exitFailed
		}
	}
	stages := p.Plan(context.Background(), opts)
	if o.output == "json" {
		enc := json.NewEncoder(c.stdout)
		_ = enc.Encode(map[string]any{"pipeline": p.Name, "stages": stages})
		return exitOK
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
	}
	return exitOK
}
