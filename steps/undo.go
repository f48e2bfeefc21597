package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutoverhq/cutover/kube"
)

// Writing objects and undoing the writes (docs/design.md, "Undo"), for
// every kind that changes objects, in any package:
//
//	snap, live, err := c.Capture(ctx, r)      // before: the object as it is
//	snap.Fields = kube.FieldsOf(body)          // what the write sets
//	if err := RecordBefore(env, snap); …       // durable before the write
//	out, err := …write…
//	env.Remember(WrittenBy(r, out, snap.Fields))
//
// and in Undo, RestoreObjects(ctx, env, c, records, UndoPolicy{Target:
// TargetIs(c, want)}): the trust check, drift, marks and the restore are
// kube.Revert's and this file's, not the kind's. A kind with records of its
// own (a replica count, routing) groups them with GroupRecords and reports
// what it could not undo through UndoErrors.

// RecordBefore journals r, what an undo needs to reverse the write that
// follows; without a durable record there is no write.
func RecordBefore(env *Env, r any) error {
	if err := env.Record(r); err != nil {
		return fmt.Errorf("journaling the previous state (nothing was written): %w", err)
	}
	return nil
}

// Undone is what a stage's records say about one object: its first record
// (the state before the first attempt; later ones record what earlier
// attempts wrote), its last, and the kube.Written noted after the last
// write (nil when the process died before it was journaled).
type Undone[R any] struct {
	First, Last R
	Written     *kube.Written
}

// GroupRecords reads a stage's records of type R and the kube.Written facts
// noted after the writes (Undo receives both), grouped per object, newest
// object first (the order in which undoing them is safe: an object created
// late, inside a namespace created early, goes first). A Written counts
// only when it follows the newest record of its object, as the result of
// the last write. each, when set, sees every record in order. badf formats
// a record that does not decode (with its 1-based index and the error).
func GroupRecords[R any](records []json.RawMessage, refOf func(R) kube.Ref, each func(R), badf string) ([]kube.Ref, map[kube.Ref]*Undone[R], error) {
	byRef := map[kube.Ref]*Undone[R]{}
	var order []kube.Ref
	for i, raw := range records {
		if w, ok := kube.WrittenOf(raw); ok {
			if u := byRef[w.Wrote]; u != nil {
				u.Written = &w
			}
			continue
		}
		var rec R
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, nil, fmt.Errorf(badf, i+1, err)
		}
		r := refOf(rec)
		u := byRef[r]
		if u == nil {
			u = &Undone[R]{First: rec}
			byRef[r] = u
			order = append(order, r)
		}
		u.Last, u.Written = rec, nil
		if each != nil {
			each(rec)
		}
	}
	slices.Reverse(order)
	return order, byRef, nil
}

// UndoPolicy is how RestoreObjects treats the objects of one stage.
type UndoPolicy struct {
	// Deleted: the stage deleted the objects, so they are re-created.
	Deleted bool
	// Target refuses a record naming an object the stage does not target
	// (a *TargetError); see TargetIs and RefuseAll.
	Target func(kube.Ref) error
	// RequireMark: the stage's targets cannot be evaluated, and only
	// objects carrying the run's mark may be written.
	RequireMark bool
}

// RestoreObjects undoes writes journaled as kube.Snapshot records (with
// their kube.Written facts), newest object first, then waits for the
// workloads it put back to roll out. It goes on past an object it leaves
// alone or fails to restore, so one does not leave the others changed, and
// reports them all: objects someone changed since in one *DriftError,
// records naming objects the stage does not target as *TargetErrors.
func RestoreObjects(ctx context.Context, env *Env, c *kube.Clients, records []json.RawMessage, p UndoPolicy) error {
	fields := map[kube.Ref]map[string]any{}
	order, byRef, err := GroupRecords(records, func(s kube.Snapshot) kube.Ref { return s.Ref }, func(s kube.Snapshot) {
		if s.Fields != nil {
			fields[s.Ref] = kube.MergeFields(fields[s.Ref], s.Fields)
		}
	}, "undo record %d is not an object snapshot: %w")
	if err != nil {
		return err
	}
	var ue UndoErrors
	var restored []kube.Ref
	restoredTo := map[kube.Ref]*unstructured.Unstructured{}
	for _, r := range order {
		if p.Target != nil {
			if err := p.Target(r); err != nil {
				ue.Add(err)
				continue
			}
		}
		u := byRef[r]
		hold := kube.HoldOnly(fields[r])
		out, did, err := c.Revert(ctx, kube.Revert{
			First: u.First, Last: u.Last, Written: u.Written, Fields: fields[r],
			Deleted: p.Deleted, RunID: env.RunID, Force: env.Force, RequireMark: p.RequireMark,
			HoldOnly: hold,
		})
		var d *kube.Drift
		var un *kube.Untrusted
		switch {
		case errors.As(err, &d):
			ue.Left(env, d.Ref.String(), d.Why)
			continue
		case errors.As(err, &un):
			ue.Refuse(r.String(), un.Why)
			continue
		case err != nil:
			ue.Add(err)
			continue
		}
		if out != nil && kube.HasRollout(r.APIVersion, r.Kind) && rollsOut(fields[r], out) {
			restored = append(restored, r)
			restoredTo[r] = out
		}
		switch {
		case did == kube.Deleted:
			env.Report("deleted " + r.String() + ", which did not exist before")
		case did == kube.Unchanged:
			env.Report(r.String() + " is as it was before")
		case did == kube.Gone && hold:
			env.Report(r.String() + " is gone: nothing to resume")
		case did == kube.Gone:
			env.Report(r.String() + " did not exist before and is gone already")
		default:
			env.Report(did + " " + r.String())
		}
	}
	for _, r := range restored {
		out := restoredTo[r]
		if kube.Paused(out) {
			// Held (spec.paused), as before the run or by a stage whose
			// undo, last, lifts the hold and waits: its controller rolls
			// nothing out until then, and waiting here would wait for ever.
			env.Report(r.Short() + ": restored; paused (spec.paused), so it rolls out once resumed")
			continue
		}
		if kube.OnDelete(out) {
			// Its controller replaces no pod for the restored template:
			// waiting for its pods would wait for pods nobody replaces
			// (one of the release's, Pending, for ever). The kind that
			// replaced them (update_nodes) replaces them again in its
			// undo, which runs after this one.
			if _, err := c.WaitFrom(ctx, r, out, kube.Observed, nil); err != nil {
				ue.Add(err)
				continue
			}
			env.Report(r.Short() + ": restored template observed; updateStrategy OnDelete: its pods take it when they are replaced")
			continue
		}
		if _, err := c.WaitRollout(ctx, r, env.Report); err != nil {
			ue.Add(err)
		}
	}
	return ue.Err()
}

// rollsOut says whether restoring these fields, with out the result,
// starts a rollout worth waiting for: the pod template, or the whole object
// (no field list), or a hold lifted (spec.paused back to false). The undo
// that lifts a pause runs after the template's (steps.Releaser), so the
// rollout it waits for is the old template's coming back.
func rollsOut(fields map[string]any, out *unstructured.Unstructured) bool {
	if fields == nil {
		return true
	}
	spec, _ := fields["spec"].(map[string]any)
	_, template := spec["template"]
	return template || (kube.Holds(fields) && !kube.Paused(out))
}

// UndoErrors gathers what an Undo could not do: refused records
// (*TargetError), objects left alone because someone changed them (one
// *DriftError naming them all) and failed writes.
type UndoErrors struct {
	errs  []error
	drift []string
}

// Add keeps err (nil is nothing).
func (u *UndoErrors) Add(err error) {
	if err != nil {
		u.errs = append(u.errs, err)
	}
}

// Left names an object left as is and why ("replicas changed since this
// run set them"); it is reported at once too.
func (u *UndoErrors) Left(env *Env, what, why string) {
	msg := what + ": " + why + "; left as is"
	env.Report(msg)
	u.drift = append(u.drift, msg)
}

// Refuse keeps a record the undo will not act on, and why.
func (u *UndoErrors) Refuse(record, why string) {
	u.errs = append(u.errs, &TargetError{Record: record, Why: why})
}

// Err is everything gathered (JoinUndo).
func (u *UndoErrors) Err() error { return JoinUndo(u.errs, u.drift) }

// JoinUndo is an Undo's result from its failures and the objects it left
// as is (each "what: why; left as is"), nil for none: the objects left in
// one *DriftError. It is retryable only when every failure is transient (a
// retry would redo the others' final failures for nothing); a single error
// is returned as is, so the engine sees a DriftError or a TargetError.
func JoinUndo(errs []error, drift []string) error {
	if len(drift) > 0 {
		errs = append(errs, &DriftError{Changed: drift})
	}
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 && !kube.IsTransient(errs[0]) {
		return errs[0]
	}
	all := true
	for _, e := range errs {
		all = all && kube.IsTransient(e)
	}
	err := errors.Join(errs...)
	if all {
		return Retryable(err)
	}
	return err
}

// servedAs refuses a record whose resource is not the one serving its kind.
// Requests go to the resource, so a record saying "ConfigMap" with resource
// "secrets" would otherwise pass a check on the kind and write a Secret.
func servedAs(c *kube.Clients, r kube.Ref) error {
	if c.Mapper == nil {
		return nil // unit tests' fake clients: no discovery to ask
	}
	m, err := kube.MappingFor(c.Mapper, k8sschema.FromAPIVersionAndKind(r.APIVersion, r.Kind))
	if err != nil {
		if kube.IsTransient(err) {
			return APIError(err)
		}
		return &TargetError{Record: r.String(), Why: err.Error()}
	}
	if m.Resource.Resource != r.Resource || kube.Namespaced(m) != (r.Namespace != "") {
		return &TargetError{Record: r.String(), Why: fmt.Sprintf("the record names resource %q, which does not serve %s %s", r.Resource, r.APIVersion, r.Kind)}
	}
	return nil
}

// TargetIs is the trust check of records against the objects a stage
// targets, as its block evaluated at undo time names them (Env.Config):
// a record naming any other object, or a resource that does not serve its
// kind, is refused.
func TargetIs(c *kube.Clients, want ...kube.Ref) func(kube.Ref) error {
	return func(r kube.Ref) error {
		if err := servedAs(c, r); err != nil {
			return err
		}
		for _, w := range want {
			if kube.SameTarget(r, w) {
				return nil
			}
		}
		names := make([]string, len(want))
		for i, w := range want {
			names[i] = w.String()
		}
		why := "the stage does not target it"
		if len(names) > 0 {
			why += " (it targets " + strings.Join(names, ", ") + ")"
		}
		return &TargetError{Record: r.String(), Why: why}
	}
}

// MarkedTarget is the check when the stage's targets cannot be evaluated
// but the kind marks what it writes: any object served as its record says,
// written only while it carries the run's mark (UndoPolicy.RequireMark).
func MarkedTarget(c *kube.Clients) UndoPolicy {
	return UndoPolicy{RequireMark: true, Target: func(r kube.Ref) error { return servedAs(c, r) }}
}

// RefuseAll refuses every record, for kinds that cannot check records
// without their configuration and write no mark.
func RefuseAll(why string) func(kube.Ref) error {
	return func(r kube.Ref) error { return &TargetError{Record: r.String(), Why: why} }
}

// The run's mark (kube.AnnotationRun) on what a kind writes lets an undo
// whose targets cannot be evaluated still tell the objects this run wrote.

// MarkAnnotations is the metadata of a merge patch that marks an object
// with the run: nil without a run id, or when live (the object's
// annotations as read before the write) carries a mark already: an object
// created by an earlier run keeps that run's mark, or undoing the earlier
// run would find its creation "changed since" and leave it.
func MarkAnnotations(env *Env, live map[string]string) map[string]any {
	if !ShouldMark(env, live) {
		return nil
	}
	return map[string]any{kube.AnnotationRun: env.RunID}
}

// ShouldMark says whether a write of this run puts its mark on an object
// with annotations live: only on one no run has marked yet.
func ShouldMark(env *Env, live map[string]string) bool {
	return runOf(env) != "" && live[kube.AnnotationRun] == ""
}

// MarkedBy reports whether annotations carry the mark of env's run.
func MarkedBy(env *Env, ann map[string]string) bool {
	return runOf(env) != "" && ann[kube.AnnotationRun] == env.RunID
}

// Unmarked refuses an undo record for an object (what) because the stage's
// targets cannot say it is theirs (why) and the object does not carry the
// run's mark either.
func Unmarked(env *Env, what, why string) *TargetError {
	return &TargetError{Record: what, Why: fmt.Sprintf("%s, and this one does not carry the %s mark of run %s", why, kube.AnnotationRun, runOf(env))}
}

func runOf(env *Env) string {
	if env == nil {
		return ""
	}
	return env.RunID
}

// WrittenBy is the kube.Written to Remember after a write to r that
// answered out and set fields.
func WrittenBy(r kube.Ref, out *unstructured.Unstructured, fields map[string]any) kube.Written {
	w := kube.Written{Wrote: r, Digest: kube.FieldsDigest(out, fields)}
	if out != nil {
		w.UID = string(out.GetUID())
	}
	return w
}
