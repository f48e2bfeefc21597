package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/zclconf/go-cty/cty"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// namedDocs describe named's attributes in the reference, with what a
// kind's own map adds (withNamed).
var namedDocs = map[string]string{
	"name":      "The object's name.",
	"namespace": "The object's namespace (default: the pipeline's, or the run's `--namespace`).",
}

// withNamed is a kind's attribute docs and named's.
func withNamed(docs map[string]string) map[string]string {
	out := maps.Clone(namedDocs)
	maps.Copy(out, docs)
	return out
}

// named is the object a one-object kind acts on: its name, and its
// namespace when not the run's (steps.Env.NamespaceFor).
type named struct {
	Name      string `hcl:"name,required"`
	Namespace string `hcl:"namespace"`
}

// ref resolves a kind as the user wrote it and names the object.
func ref(c *kube.Clients, kind, ns, name string) (kube.Ref, error) {
	m, err := kube.ResolveKind(c.Mapper, kind)
	if err != nil {
		return kube.Ref{}, steps.APIError(err)
	}
	return kube.RefFor(m, ns, name), nil
}

// objectVal is an object as a cty value (null for nil), for outputs and
// expressions.
func objectVal(u *unstructured.Unstructured) cty.Value {
	if u == nil {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return steps.FromGo(u.Object)
}

// undone is what the records of a stage say about one object: its first
// record (the state before the first attempt; later ones record what earlier
// attempts wrote), its last, and the Written noted after the last write
// (nil when the process died before it was journaled).
type undone[R any] struct {
	first, last R
	written     *kube.Written
}

// groupRecords reads a stage's journaled records of type R and the Written
// facts noted after the writes, grouped per object, newest object first
// (the order in which undoing them is safe: an object created late, inside
// a namespace created early, goes first). A Written counts only when it
// follows the newest record of its object, as the result of the last write.
// each, when set, sees every record in order. badf formats a record that
// does not decode (with its 1-based index and the error).
func groupRecords[R any](records []json.RawMessage, refOf func(R) kube.Ref, each func(R), badf string) ([]kube.Ref, map[kube.Ref]*undone[R], error) {
	byRef := map[kube.Ref]*undone[R]{}
	var order []kube.Ref
	for i, raw := range records {
		if w, ok := kube.WrittenOf(raw); ok {
			if u := byRef[w.Wrote]; u != nil {
				w := w
				u.written = &w
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
			u = &undone[R]{first: rec}
			byRef[r] = u
			order = append(order, r)
		}
		u.last, u.written = rec, nil
		if each != nil {
			each(rec)
		}
	}
	slices.Reverse(order)
	return order, byRef, nil
}

// objectUndo is what the snapshots of a stage say about one object, with
// the fields its writes set (every attempt's).
type objectUndo struct {
	undone[kube.Snapshot]
	fields map[string]any
}

// decodeRecords groups journaled kube.Snapshot records (groupRecords).
func decodeRecords(records []json.RawMessage) ([]kube.Ref, map[kube.Ref]*objectUndo, error) {
	fields := map[kube.Ref]map[string]any{}
	order, groups, err := groupRecords(records, func(s kube.Snapshot) kube.Ref { return s.Ref }, func(s kube.Snapshot) {
		if s.Fields != nil {
			fields[s.Ref] = kube.MergeFields(fields[s.Ref], s.Fields)
		}
	}, "undo record %d is not an object snapshot: %w")
	if err != nil {
		return nil, nil, err
	}
	byRef := make(map[kube.Ref]*objectUndo, len(groups))
	for r, g := range groups {
		byRef[r] = &objectUndo{undone: *g, fields: fields[r]}
	}
	return order, byRef, nil
}

// undoPolicy is how restoreAll treats the objects of one stage.
type undoPolicy struct {
	// deleted: the stage deleted the objects, so they are re-created.
	deleted bool
	// target refuses a record naming an object the stage does not target
	// (a *steps.TargetError); requireMark is set when the stage's targets
	// cannot be evaluated and only objects marked by the run may be
	// written.
	target      func(kube.Ref) error
	requireMark bool
}

// restoreAll restores what the records name, newest first, and then waits
// for the workloads it put back to roll out. It goes on past an object it
// leaves alone or fails to restore, so one does not leave the others
// changed, and reports them all: objects someone changed since are named
// in one *steps.DriftError, records naming objects the stage does not
// target are *steps.TargetErrors.
func restoreAll(ctx context.Context, env *steps.Env, c *kube.Clients, records []json.RawMessage, p undoPolicy) error {
	order, byRef, err := decodeRecords(records)
	if err != nil {
		return err
	}
	var errs []error
	var drift []string
	var restored []kube.Ref
	for _, r := range order {
		if p.target != nil {
			if err := p.target(r); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		u := byRef[r]
		out, did, err := c.Revert(ctx, kube.Revert{
			First: u.first, Last: u.last, Written: u.written, Fields: u.fields,
			Deleted: p.deleted, RunID: env.RunID, Force: env.Force, RequireMark: p.requireMark,
		})
		var d *kube.Drift
		var un *kube.Untrusted
		switch {
		case errors.As(err, &d):
			drift = append(drift, d.Error())
			env.Report(d.Error())
			continue
		case errors.As(err, &un):
			errs = append(errs, &steps.TargetError{Record: r.String(), Why: un.Why})
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		}
		if out != nil && kube.HasRollout(r.APIVersion, r.Kind) && rollsOut(u.fields) {
			restored = append(restored, r)
		}
		switch did {
		case kube.Deleted:
			env.Report("deleted " + r.String() + ", which did not exist before")
		case kube.Unchanged:
			env.Report(r.String() + " is as it was before")
		case kube.Gone:
			env.Report(r.String() + " did not exist before and is gone already")
		default:
			env.Report(did + " " + r.String())
		}
	}
	for _, r := range restored {
		if _, err := c.WaitRollout(ctx, r, env.Report); err != nil {
			errs = append(errs, err)
		}
	}
	if len(drift) > 0 {
		errs = append(errs, &steps.DriftError{Changed: drift})
	}
	return joinClassified(errs)
}

// rollsOut says whether restoring these fields starts a rollout worth
// waiting for: the pod template, or the whole object (no field list). An
// undo that only unpauses a Deployment (kubectl rollout pause's undo) must
// not wait for the template it finds to roll out everywhere: that template
// is the release being undone, and the deploy's own undo, next, puts the
// old one back.
func rollsOut(fields map[string]any) bool {
	if fields == nil {
		return true
	}
	spec, _ := fields["spec"].(map[string]any)
	_, template := spec["template"]
	return template
}

// joinClassified joins errors; the result is retryable only when every one
// of them is (a retry would redo the others' final failures for nothing).
func joinClassified(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 && !kube.IsTransient(errs[0]) {
		return errs[0] // as is, so the engine sees a DriftError or TargetError
	}
	all := true
	for _, e := range errs {
		all = all && kube.IsTransient(e)
	}
	err := errors.Join(errs...)
	if all {
		return steps.Retryable(err)
	}
	return err
}

// record journals r before a write; without a durable record there is no
// write.
func record(env *steps.Env, r any) error {
	if err := env.Record(r); err != nil {
		return fmt.Errorf("journaling the previous state (nothing was written): %w", err)
	}
	return nil
}

// mergePatch sends body as a merge patch to r (or its subresource); with
// rv, only if r is still at that resourceVersion, so a write decided on a
// read fails with a conflict when the object changed in between.
func mergePatch(ctx context.Context, c *kube.Clients, r kube.Ref, body map[string]any, rv string, dryRun bool, subresources ...string) (*unstructured.Unstructured, error) {
	if rv != "" {
		body["metadata"] = map[string]any{"resourceVersion": rv}
	}
	patch, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: kube.FieldManager}
	if dryRun {
		opts.DryRun = kube.DryRunAll
	}
	return c.Resource(r).Patch(ctx, r.Name, types.MergePatchType, patch, opts, subresources...)
}
