package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// Revert is what an undo knows of one object from a stage's records.
type Revert struct {
	// First is the snapshot from before the stage's first write (the state
	// to return to), Last the one from before its last write.
	First, Last Snapshot
	// Written is the result of the last write, when it was noted after
	// Last; nil when the process died before noting it.
	Written *Written
	// Fields is the union of what the attempts set; nil restores the whole
	// object (records from before fields were kept).
	Fields map[string]any
	// Deleted says the write was a delete: the object is expected to be
	// gone, and is re-created.
	Deleted bool
	// RunID is the run being undone. Force restores what someone changed
	// since. RequireMark is set when the stage's targets could not be
	// evaluated: only an object carrying this run's mark may be written.
	RunID       string
	Force       bool
	RequireMark bool
	// HoldOnly: the fields are only a hold (spec.paused, HoldOnly) on an
	// object that existed. Once the object is gone there is nothing left
	// to hold, whoever deleted it (a deploy's undo of a first release,
	// which runs before): Gone, not drift.
	HoldOnly bool
}

// Drift says an undo left an object alone because someone changed it since
// this run wrote it.
type Drift struct {
	Ref Ref
	Why string
}

func (d *Drift) Error() string { return d.Ref.String() + ": " + d.Why + "; left as is" }

// Untrusted says an undo record names an object this run did not write.
type Untrusted struct {
	Ref Ref
	Why string
}

func (u *Untrusted) Error() string { return u.Ref.String() + ": " + u.Why }

// What Revert did to the object, for progress lines.
const (
	Reverted  = "restored"
	Recreated = "re-created"
	Deleted   = "deleted"
	Unchanged = "unchanged"
	Gone      = "gone"
)

// expectedUID is the UID the object has if nobody replaced it since the
// run's last write.
func (o Revert) expectedUID() string {
	switch {
	case o.Written != nil && o.Written.UID != "":
		return o.Written.UID
	case o.Deleted:
		return o.First.UID
	case o.Last.Existed && o.Last.UID != "":
		return o.Last.UID
	}
	return o.First.UID
}

// changedSince reports whether the fields the last write set differ from
// what it stored. Without a noted result it cannot tell, and says no.
func (o Revert) changedSince(live *unstructured.Unstructured) bool {
	if o.Written == nil || o.Last.Fields == nil {
		return false
	}
	return FieldsDigest(live, o.Last.Fields) != o.Written.Digest
}

// markPutBack says whether live carries a mark other than this run's where
// the run's write set it: every stage of a run that writes an object marks
// it, and the undo of an earlier stage, run before this one's (a hold is
// lifted last: steps.Releaser), put back the mark from before the run. That
// mark is neither a change someone made since nor this undo's to restore:
// it is left out of the drift check and of the restore.
func (o Revert) markPutBack(live *unstructured.Unstructured) bool {
	md, _ := o.Fields["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	_, marked := ann[AnnotationRun]
	return marked && o.RunID != "" && MarkedBy(live) != o.RunID
}

// withoutMark is fields without the run's mark.
func withoutMark(fields map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		out[k] = v
	}
	md, _ := fields["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	rest := make(map[string]any, len(ann))
	for k, v := range ann {
		if k != AnnotationRun {
			rest[k] = v
		}
	}
	mdOut := make(map[string]any, len(md))
	for k, v := range md {
		if k != "annotations" || len(rest) > 0 {
			mdOut[k] = v
		}
	}
	if len(rest) > 0 {
		mdOut["annotations"] = rest
	}
	if len(mdOut) > 0 {
		out["metadata"] = mdOut
	} else {
		delete(out, "metadata")
	}
	return out
}

// changedBy names who made the newest change to live, when its
// managedFields tell and it was not cutover: " (by kubectl-set at
// 18:01:02 UTC)", the field manager of the newest entry (status writes
// left out: they change no field a run sets); "" otherwise. Entries are
// stamped to the second, so a tie goes to the other manager: cutover's
// write cannot be the change that made the object differ from it.
func changedBy(live *unstructured.Unstructured) string {
	var newest *metav1.ManagedFieldsEntry
	mf := live.GetManagedFields()
	for i := range mf {
		m := &mf[i]
		if m.Subresource != "" || m.Time == nil || m.Manager == "" {
			continue
		}
		if newest == nil || newest.Time.Before(m.Time) || (newest.Time.Equal(m.Time) && m.Manager != FieldManager) {
			newest = m
		}
	}
	if newest == nil || newest.Manager == FieldManager {
		return ""
	}
	return fmt.Sprintf(" (by %s at %s)", newest.Manager, newest.Time.UTC().Format("15:04:05 MST"))
}

// Revert brings one object back to o.First, unless someone changed it since
// this run wrote it (a *Drift, unless o.Force) or it is not this run's to
// write (an *Untrusted, even with Force). Each decision is made on a fresh
// read and every write carries a precondition on what was read (a UID on a
// delete, the resourceVersion on a patch or replacement), so a change that
// lands between the read and the write is a conflict, and the read and the
// checks are done again.
func (c *Clients) Revert(ctx context.Context, o Revert) (out *unstructured.Unstructured, did string, err error) {
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		live, err := c.Get(ctx, o.First.Ref)
		if err != nil {
			return err
		}
		if o.First.Existed {
			out, did, err = c.revertExisting(ctx, o, live)
		} else {
			out, did, err = c.revertCreated(ctx, o, live)
		}
		return err
	})
	return out, did, err
}

// revertCreated deletes an object the run created, only while it carries
// this run's mark and is the object the run created (same UID), and with a
// UID precondition: one deleted and re-created by someone else since, or
// named by a forged record, is never removed.
func (c *Clients) revertCreated(ctx context.Context, o Revert, live *unstructured.Unstructured) (*unstructured.Unstructured, string, error) {
	r := o.First.Ref
	if live == nil || live.GetDeletionTimestamp() != nil {
		return nil, Gone, nil
	}
	uid, liveUID := o.expectedUID(), string(live.GetUID())
	if mark := MarkedBy(live); o.RunID == "" || mark != o.RunID {
		switch {
		case uid != "" && liveUID != uid:
			// Not the object this run created, and not marked by it:
			// someone else's, which even --force does not delete.
			return nil, "", &Drift{r, "deleted and re-created since this run created it"}
		case uid == "" && mark == "":
			return nil, "", &Untrusted{r, fmt.Sprintf("the record says run %s created it, but it carries no %s mark; it was not created by this run", o.RunID, AnnotationRun)}
		case uid == "":
			return nil, "", &Untrusted{r, fmt.Sprintf("the record says run %s created it, but it carries the mark of run %s", o.RunID, mark)}
		case !o.Force:
			return nil, "", &Drift{r, fmt.Sprintf("its %s mark changed since this run created it (now %q)", AnnotationRun, mark)}
		}
	} else if !o.Force {
		if uid != "" && liveUID != uid {
			return nil, "", &Drift{r, "deleted and re-created since this run created it"}
		}
		if o.changedSince(live) {
			return nil, "", &Drift{r, "changed since this run created it"}
		}
	}
	bg := metav1.DeletePropagationBackground
	uidp := live.GetUID()
	err := c.Resource(r).Delete(ctx, r.Name, metav1.DeleteOptions{PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uidp}})
	if apierrors.IsNotFound(err) {
		return nil, Gone, nil
	}
	if err != nil {
		// A failed UID precondition is a conflict: the read is done again.
		return nil, "", fmt.Errorf("deleting %s, which did not exist before: %w", r, err)
	}
	return nil, Deleted, nil
}

// revertExisting puts back the fields the run set on an object that existed
// before. It restores only those fields, with a JSON merge patch carrying the
// resourceVersion just read, rather than replacing the object whole: a
// replacement would also undo what others changed in fields cutover never
// touched (an HPA's replicas, an annotation added by a person or a
// controller). Only without a record of the fields (older records) is the
// whole object replaced, as before.
func (c *Clients) revertExisting(ctx context.Context, o Revert, live *unstructured.Unstructured) (*unstructured.Unstructured, string, error) {
	r := o.First.Ref
	prev, err := o.First.Previous()
	if err != nil {
		return nil, "", err
	}
	if o.HoldOnly && !o.Deleted && (live == nil || live.GetDeletionTimestamp() != nil) {
		return nil, Gone, nil
	}
	if live != nil && live.GetDeletionTimestamp() != nil && (o.Deleted || o.Force) {
		// Still terminating (foreground deletion, finalizers): a write
		// would not stop it, so wait until it is gone and create it.
		if err := c.WaitGone(ctx, r, nil); err != nil {
			return nil, "", err
		}
		live = nil
	}
	if live != nil && live.GetDeletionTimestamp() != nil {
		return nil, "", &Drift{r, "being deleted since this run wrote it"}
	}
	if live == nil {
		if !o.Deleted && !o.Force {
			return nil, "", &Drift{r, "deleted since this run wrote it"}
		}
		want := prev.DeepCopy()
		if err := c.dropGoneOwners(ctx, want); err != nil {
			return nil, "", err
		}
		Mark(want, o.RunID)
		out, err := c.Resource(r).Create(ctx, want, metav1.CreateOptions{FieldManager: FieldManager})
		if err != nil {
			return nil, "", fmt.Errorf("re-creating %s: %w", r, err)
		}
		return out, Recreated, nil
	}
	fields, seen := o.Fields, live
	if o.markPutBack(live) {
		fields, seen = withoutMark(o.Fields), live.DeepCopy()
		Mark(seen, o.RunID)
	}
	clean := Clean(live)
	if equality.Semantic.DeepEqual(clean.Object, prev.Object) ||
		(fields != nil && reflect.DeepEqual(Project(clean.Object, fields), Project(prev.Object, fields))) {
		// As recorded: the write it protected never happened (refused,
		// say) or was undone already. No write, so an undo needs no more
		// permission than the stage had.
		return live, Unchanged, nil
	}
	if o.RequireMark && (o.RunID == "" || MarkedBy(live) != o.RunID) {
		return nil, "", &Untrusted{r, fmt.Sprintf("the stage's targets cannot be evaluated, and it does not carry the %s mark of run %s", AnnotationRun, o.RunID)}
	}
	if uid := o.expectedUID(); uid != "" && string(live.GetUID()) != uid && !o.Force {
		if o.Deleted {
			return nil, "", &Drift{r, "re-created by someone else since this run deleted it"}
		}
		return nil, "", &Drift{r, "deleted and re-created since this run wrote it"}
	}
	if !o.Force && o.changedSince(seen) {
		return nil, "", &Drift{r, "changed since this run wrote it" + changedBy(live)}
	}
	if o.Fields == nil || o.Deleted {
		want := prev.DeepCopy()
		want.SetResourceVersion(live.GetResourceVersion())
		out, err := c.Resource(r).Update(ctx, want, metav1.UpdateOptions{FieldManager: FieldManager})
		if err != nil {
			return nil, "", fmt.Errorf("restoring %s to its previous state: %w", r, err)
		}
		return out, Reverted, nil
	}
	patch := restorePatch(prev.Object, clean.Object, fields)
	md, _ := patch["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	md["resourceVersion"] = live.GetResourceVersion()
	patch["metadata"] = md
	body, err := json.Marshal(patch)
	if err != nil {
		return nil, "", fmt.Errorf("restoring %s: %w", r, err)
	}
	out, err := c.Resource(r).Patch(ctx, r.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, "", fmt.Errorf("restoring %s to its previous state: %w", r, err)
	}
	return out, Reverted, nil
}
