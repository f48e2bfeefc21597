package route

import (
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// fieldManager names cutover as the writer in managedFields.
const fieldManager = "cutover"

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

// apiErr puts what was being done in front of an API error, classified
// by steps.APIError; nil stays nil.
func apiErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return steps.APIError(fmt.Errorf(format+": %w", append(args, err)...))
}

// notFound reports whether err says the object does not exist.
func notFound(err error) bool { return apierrors.IsNotFound(err) }

// splitWritten separates the Written facts noted after writes from a
// kind's own records. A Written counts for an object only when no record
// of the kind naming it follows (it is then the result of the last write);
func splitWritten(records []json.RawMessage) (own []json.RawMessage, written []kube.Written, at []int) {
	for _, raw := range records {
		if w, ok := kube.WrittenOf(raw); ok {
			written = append(written, w)
			at = append(at, len(own))
			continue
		}
		own = append(own, raw)
	}
	return own, written, at
}

// lastWritten maps each object to the Written noted after the newest own
// record naming it (lastOwn: the index of that record among own records).
func lastWritten(written []kube.Written, at []int, lastOwn func(kube.Ref) (int, bool)) map[kube.Ref]*kube.Written {
	out := map[kube.Ref]*kube.Written{}
	for i := range written {
		w := written[i]
		n, ok := lastOwn(w.Wrote)
		if !ok || at[i] <= n {
			continue // an older write's result: a later record follows it
		}
		out[w.Wrote] = &w
	}
	return out
}

func serviceRef(ns, name string) kube.Ref {
	return kube.Ref{APIVersion: "v1", Kind: "Service", Resource: "services", Namespace: ns, Name: name}
}

func ingressRef(ns, name string) kube.Ref {
	return kube.Ref{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Resource: "ingresses", Namespace: ns, Name: name}
}

// stringsDigest is the digest of a label or annotation map, the same for
// nil and empty.
func stringsDigest(m map[string]string) string {
	if m == nil {
		m = map[string]string{}
	}
	return kube.Digest(m)
}
