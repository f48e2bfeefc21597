package route

import (
	"encoding/json"
	"errors"
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

// runOf is the run id the undo acts for ("" without an Env).
func runOf(env *steps.Env) string {
	if env == nil {
		return ""
	}
	return env.RunID
}

// markAnnotations is the metadata of a merge patch that marks the object
// with the run; nil without a run id, or when live (the object's
// annotations as read before the write) carries a mark already. The route
// steps mark what they write (one more key costs nothing), so an undo whose
// targets cannot be evaluated can still tell objects this run wrote; but an
// object created by an earlier run keeps that run's mark, or undoing the
// earlier run would find its creation "changed since" and leave it.
func markAnnotations(env *steps.Env, live map[string]string) map[string]any {
	if runOf(env) == "" || !shouldMark(env, live) {
		return nil
	}
	return map[string]any{kube.AnnotationRun: env.RunID}
}

// shouldMark says whether a write of this run puts its mark on an object
// with annotations live: only on one no run has marked yet.
func shouldMark(env *steps.Env, live map[string]string) bool {
	return runOf(env) != "" && live[kube.AnnotationRun] == ""
}

// markedBy reports whether annotations carry the mark of the run.
func markedBy(env *steps.Env, ann map[string]string) bool {
	return runOf(env) != "" && ann[kube.AnnotationRun] == env.RunID
}

// undoErrs gathers what an Undo could not do: refused records
// (*steps.TargetError), objects left alone because someone changed them
// (one *steps.DriftError naming them all) and failed writes.
type undoErrs struct {
	errs  []error
	drift []string
}

func (u *undoErrs) add(err error) {
	if err != nil {
		u.errs = append(u.errs, err)
	}
}

// left names an object left as is; it is reported at once too.
func (u *undoErrs) left(env *steps.Env, what, why string) {
	msg := what + ": " + why + "; left as is"
	env.Report(msg)
	u.drift = append(u.drift, msg)
}

func (u *undoErrs) refuse(record, why string) {
	u.errs = append(u.errs, &steps.TargetError{Record: record, Why: why})
}

func (u *undoErrs) err() error {
	errs := u.errs
	if len(u.drift) > 0 {
		errs = append(errs, &steps.DriftError{Changed: u.drift})
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

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
