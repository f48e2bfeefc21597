package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/cutoverhq/cutover/kube"
)

// checkKubeconfig refuses a --kubeconfig that does not exist or does not
// parse, and a --context that no kubeconfig read has: it is bad input
// (exit 2, the file or context named), not a cluster that failed (client-go
// would say so only at the first request, as exit 1).
func (c *cli) checkKubeconfig(o *options) bool {
	if msg := kubeconfigProblem(o.kubeconfig, o.context); msg != "" {
		c.errorf("--%s", msg)
		return false
	}
	return true
}

// kubeconfigProblem says what is wrong with a kubeconfig file and a
// context in it ("" for either: as kubectl finds them), "" when nothing
// is: "kubeconfig FILE: no such file", "context "X" is not in …".
func kubeconfigProblem(kubeconfig, context string) string {
	if kubeconfig != "" {
		if p := kube.FileProblem(kubeconfig); p != "" {
			return fmt.Sprintf("kubeconfig %s: %s", kubeconfig, p)
		}
	}
	if context == "" {
		return ""
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	raw, err := rules.Load()
	if err != nil {
		return "" // client-go says what is wrong at the first use
	}
	if _, ok := raw.Contexts[context]; ok {
		return ""
	}
	var files []string
	for _, f := range rules.GetLoadingPrecedence() {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return fmt.Sprintf("context %q is not there: no kubeconfig file is configured (--kubeconfig, $KUBECONFIG, ~/.kube/config)", context)
	}
	where := "the kubeconfig " + strings.Join(files, ", ")
	have := "it has no context"
	if len(raw.Contexts) > 0 {
		var names []string
		for n := range raw.Contexts {
			names = append(names, n)
		}
		slices.Sort(names)
		have = "its contexts are " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("context %q is not in %s: %s", context, where, have)
}
