package main

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps/pause"
)

// completionTimeout bounds what a completion asks the cluster: a shell
// waiting on a Tab must not hang on an unreachable API server.
const completionTimeout = 2 * time.Second

// addCompletions sets how cmd's arguments and flag values complete.
// Completions that need the cluster (run ids, pause stages) are silently
// empty when it does not answer in time.
func (c *cli) addCompletions(cmd *cobra.Command, def command, o *options) {
	if def.complete != nil {
		cmd.ValidArgsFunction = func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return def.complete(c, o, args, toComplete)
		}
	} else if strings.Contains(def.args, "PATH") {
		cmd.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return completePath(len(args) == 0 || strings.Contains(def.args, "..."))
		}
	} else if def.args == "" {
		cmd.ValidArgsFunction = cobra.NoFileCompletions
	}
	fixed := map[string][]string{
		"output": {"text", "json"}, "format": {"dot", "mermaid"}, "dry-run": {"server", "none"},
		"state": {"secret", "configmap"}, "ci": {"github", "gitlab"},
	}
	if def.name == "rbac" {
		fixed["state"] = append(fixed["state"], "none")
	}
	for name, values := range fixed {
		if cmd.Flags().Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
	}
	register := func(name string, f cobra.CompletionFunc) {
		if cmd.Flags().Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, f)
		}
	}
	register("resume", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return c.runIDs(o, func(_ *options, m journal.Meta, _ []journal.Meta) bool { return resumable(m) }), cobra.ShellCompDirectiveNoFileComp
	})
	register("var", func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return variablesAt(pathOf(args)), cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	})
	register("wave", func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return wavesAt(pathOf(args)), cobra.ShellCompDirectiveNoFileComp
	})
	register("target", func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return targetsAt(pathOf(args)), cobra.ShellCompDirectiveNoFileComp
	})
	register("var-file", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"hcl", "json"}, cobra.ShellCompDirectiveFilterFileExt
	})
	register("context", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return c.contexts(o), cobra.ShellCompDirectiveNoFileComp
	})
	register("namespace", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return c.namespaces(o), cobra.ShellCompDirectiveNoFileComp
	})
	register("template", func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return templateNames(toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	register("kubeconfig", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveDefault
	})
}

// completePath completes a pipeline PATH: directories and .hcl files.
func completePath(more bool) ([]cobra.Completion, cobra.ShellCompDirective) {
	if !more {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []cobra.Completion{"hcl"}, cobra.ShellCompDirectiveFilterFileExt
}

// completeRunArg completes RUN as the first argument, among the runs accept
// takes (nil: every run), then a PATH when the command takes n arguments.
func completeRunArg(n int, accept runFilter) func(*cli, *options, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return func(c *cli, o *options, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch {
		case len(args) == 0:
			return c.runIDs(o, accept), cobra.ShellCompDirectiveNoFileComp
		case len(args) < n:
			return completePath(true)
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// completePauseArgs completes approve/abort RUN [STAGE]: the run ids, then
// the run's pause stages waiting for an answer.
func completePauseArgs(c *cli, o *options, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return c.runIDs(o, nil), cobra.ShellCompDirectiveNoFileComp
	case 1:
		return c.waitingStages(o, args[0]), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// pathOf is the PATH among a command's arguments so far (default ".").
func pathOf(args []string) string {
	if len(args) > 0 {
		return args[len(args)-1]
	}
	return "."
}

// withCluster calls f with the clients and the namespace the flags select,
// bounded by completionTimeout; nothing when no cluster is configured or
// its clients cannot be built.
func (c *cli) withCluster(o *options, f func(ctx context.Context, clients *kube.Clients, ns string) ([]cobra.Completion, error)) []cobra.Completion {
	if !c.hasKubeconfig(o) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	clients, err := c.cluster(o).Clients()
	if err != nil {
		return nil
	}
	out, err := f(ctx, clients, kube.NamespaceOf(clients, o.namespace))
	if err != nil {
		return nil
	}
	return out
}

// runFilter says whether a command with options o takes run m, given every
// run listed (all); undoable is one.
type runFilter func(o *options, m journal.Meta, all []journal.Meta) bool

// runIDs are the runs in the namespace the flags select that accept takes
// (nil: all), newest first, each described by its pipeline, status and
// start.
func (c *cli) runIDs(o *options, accept runFilter) []cobra.Completion {
	return c.withCluster(o, func(ctx context.Context, clients *kube.Clients, ns string) ([]cobra.Completion, error) {
		metas, err := runStore(clients, ns, o).List(ctx)
		var out []cobra.Completion
		for _, m := range metas {
			if accept != nil && !accept(o, m, metas) {
				continue
			}
			out = append(out, cobra.CompletionWithDesc(m.RunID, m.Pipeline+" "+m.Status+" "+m.Started.Format(time.RFC3339)))
		}
		return out, err
	})
}

// waitingStages are the pause stages of run that wait for an answer.
func (c *cli) waitingStages(o *options, run string) []cobra.Completion {
	return c.withCluster(o, func(ctx context.Context, clients *kube.Clients, ns string) ([]cobra.Completion, error) {
		list, err := clients.Typed.CoreV1().ConfigMaps(ns).List(ctx, questionsOf(run))
		if err != nil {
			return nil, err
		}
		var out []cobra.Completion
		for _, q := range list.Items {
			if s := q.Labels[pause.StageLabel]; s != "" && q.Data[pause.AnswerKey] == "" {
				out = append(out, s)
			}
		}
		sort.Strings(out)
		return out, nil
	})
}

// namespaces are the cluster's namespaces.
func (c *cli) namespaces(o *options) []cobra.Completion {
	return c.withCluster(o, func(ctx context.Context, clients *kube.Clients, _ string) ([]cobra.Completion, error) {
		list, err := clients.Typed.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		var out []cobra.Completion
		for _, n := range list.Items {
			out = append(out, n.Name)
		}
		return out, nil
	})
}

// contexts are the kubeconfig's contexts (read locally, no cluster).
func (c *cli) contexts(o *options) []cobra.Completion {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cfg, err := rules.Load()
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for name := range cfg.Contexts {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// variablesAt completes -var with the pipeline's variables as "NAME=",
// each described by its description.
func variablesAt(path string) []cobra.Completion {
	cfg, _ := config.Load(path, nil)
	if cfg == nil {
		return nil
	}
	var out []cobra.Completion
	for _, name := range cfg.VariableOrder {
		out = append(out, cobra.CompletionWithDesc(name+"=", cfg.Variables[name].Description))
	}
	return out
}

// wavesAt completes --wave with the pipeline's waves, in their order, each
// described by its targets.
func wavesAt(path string) []cobra.Completion {
	cfg, _ := config.Load(path, nil)
	if cfg == nil {
		return nil
	}
	var out []cobra.Completion
	for _, w := range cfg.Waves {
		out = append(out, cobra.CompletionWithDesc(w.Name, strings.Join(w.Targets, ", ")))
	}
	return out
}

// targetsAt completes --target with the pipeline's targets, in their order.
func targetsAt(path string) []cobra.Completion {
	cfg, _ := config.Load(path, nil)
	if cfg == nil {
		return nil
	}
	return append([]cobra.Completion(nil), cfg.TargetOrder...)
}

// templateNames completes init --template with the ready pipelines whose
// name starts with prefix, each described as init --list describes it.
func templateNames(prefix string) []cobra.Completion {
	all, err := templates()
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, t := range all {
		if strings.HasPrefix(t.Name, prefix) {
			out = append(out, cobra.CompletionWithDesc(t.Name, t.Description))
		}
	}
	return out
}
