package route

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// fieldManager names cutover as the writer in managedFields.
const fieldManager = "cutover"

// testClients, when set by a unit test, replaces the cluster's clients with
// fakes: kube.Cluster builds its clients from a kubeconfig only.
var testClients *kube.Clients

// clientsFor returns the cluster clients, or says why a step that needs a
// cluster cannot run.
func clientsFor(env *steps.Env) (*kube.Clients, error) {
	if testClients != nil {
		return testClients, nil
	}
	if env == nil || env.Cluster == nil {
		return nil, errors.New("this step needs a Kubernetes cluster, but the command runs without one; give a kubeconfig (plan needs --dry-run=server)")
	}
	return env.Cluster.Clients()
}

// namespaceOf is the step's `namespace` attribute, else the pipeline's,
// else the kubeconfig's.
func namespaceOf(env *steps.Env, ns string, cl *kube.Clients) string {
	switch {
	case ns != "":
		return ns
	case env != nil && env.Namespace != "":
		return env.Namespace
	case cl != nil && cl.Namespace != "":
		return cl.Namespace
	}
	return "default"
}

// dryRun is the DryRun option of every write: a server-side dry run when the
// command asked for one.
func dryRun(env *steps.Env) []string {
	if env != nil && env.DryRun {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// patchOpts and updateOpts carry the field manager and the dry-run flag.
func patchOpts(env *steps.Env) metav1.PatchOptions {
	return metav1.PatchOptions{FieldManager: fieldManager, DryRun: dryRun(env)}
}

func updateOpts(env *steps.Env) metav1.UpdateOptions {
	return metav1.UpdateOptions{FieldManager: fieldManager, DryRun: dryRun(env)}
}

// apiErr puts what was being done in front of an API error and marks it
// retryable when another attempt may succeed: server errors, throttling,
// conflicts (someone wrote between our read and our write), timeouts and
// dropped connections. A cancelled or expired ctx is returned as is: the
// engine decides what a stage timeout means.
func apiErr(ctx context.Context, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf(format+": %w", append(args, err)...)
	if ctx.Err() != nil {
		return wrapped
	}
	if transient(err) {
		return steps.Retryable(wrapped)
	}
	return wrapped
}

// transient is the shared classification of kube.IsTransient.
func transient(err error) bool { return kube.IsTransient(err) }

// notFound reports whether err says the object does not exist.
func notFound(err error) bool { return apierrors.IsNotFound(err) }
