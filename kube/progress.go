package kube

import (
	"fmt"
	"math"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// The Progressing condition's reasons after which the deployment
// controller times no rollout: it counts a rollout whose condition says
// NewReplicaSetAvailable as complete once its replica counts match
// (replicas == updatedReplicas, as they do all through a Recreate
// rollout once the new ReplicaSet exists) and never times one out while
// the condition says so; and it keeps a ProgressDeadlineExceeded verdict
// as it is until the rollout progresses.
const (
	reasonAvailable = "NewReplicaSetAvailable"
	reasonDeadline  = "ProgressDeadlineExceeded"
)

// progressClock applies a Deployment's spec.progressDeadlineSeconds to a
// rollout the deployment controller does not time: the controller renews
// its Progressing condition when it creates the new ReplicaSet, and from
// then on times the rollout itself; when that write is lost (it may be:
// the condition is set in a status update apart from the ReplicaSet's
// creation) or the new template's ReplicaSet exists already (a version
// deployed before), the condition stays the earlier rollout's, and a
// rollout whose new pods never get ready would wait until the step's
// timeout. The clock runs from the moment the wait first sees the
// current generation observed (not from the spec's write: the cluster's
// clock is not this one's), and starts again at every progress, as the
// controller's does. It is one wait's state, not safe for concurrent use.
type progressClock struct {
	gen   int64
	last  appsv1.DeploymentStatus // the counts judged last
	since time.Time               // the generation first seen observed, or its last progress
	// due is when the deadline passes if nothing changes before, as of
	// the last state judged (zero: none runs): the wait must judge again
	// then, as no event will come.
	due time.Time
}

// untimed returns the Progressing condition of d when it belongs to an
// earlier rollout than the current spec's and says what makes the
// controller time nothing (see the reasons above); nil when the
// controller times the rollout itself, or d has no progress deadline.
func untimed(d *appsv1.Deployment) *appsv1.DeploymentCondition {
	if pd := d.Spec.ProgressDeadlineSeconds; pd == nil || *pd == math.MaxInt32 || d.Spec.Paused {
		return nil
	}
	for i, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && (c.Reason == reasonAvailable || c.Reason == reasonDeadline) && staleCondition(c.LastUpdateTime, d) {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// judge times d's rollout, which is not done (waiting says for what)
// and whose spec its controller has observed, at now: the deadline's
// error once the rollout has made no progress for
// progressDeadlineSeconds while its controller does not time it, else
// nil, with due set.
func (pc *progressClock) judge(obj string, d *appsv1.Deployment, waiting string, now time.Time) error {
	st := d.Status
	if pc.since.IsZero() || pc.gen != d.Generation || progressed(pc.last, st) {
		pc.since = now
	}
	pc.gen, pc.last = d.Generation, st
	cond := untimed(d)
	// While the old pods of a Recreate rollout stop, the new ReplicaSet
	// has none: the controller starts no clock before it creates them.
	if cond == nil || st.UpdatedReplicas == 0 {
		return nil
	}
	limit := time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second
	if at := pc.since.Add(limit); now.Before(at) {
		pc.due = at
		return nil
	}
	return pastDeadline(obj, d, fmt.Sprintf("no progress for %s (%s); cutover applied the deadline because the deployment controller did not: its Progressing condition is an earlier rollout's (%s at %s: %s)",
		now.Sub(pc.since).Round(time.Second), waiting, cond.Reason, cond.LastUpdateTime.UTC().Format("15:04:05 MST"), cond.Message))
}

// progressed says whether the counts moved forward from was to is, as
// the deployment controller counts progress: more updated, ready or
// available replicas, or fewer old ones.
func progressed(was, is appsv1.DeploymentStatus) bool {
	return is.UpdatedReplicas > was.UpdatedReplicas ||
		is.Replicas-is.UpdatedReplicas < was.Replicas-was.UpdatedReplicas ||
		is.ReadyReplicas > was.ReadyReplicas ||
		is.AvailableReplicas > was.AvailableReplicas
}

// pastDeadline is the terminal failure of a rollout past its progress
// deadline, whoever declared it: the controller (why is its condition's
// message) or cutover (progressClock).
func pastDeadline(obj string, d *appsv1.Deployment, why string) error {
	return &RolloutFailed{Object: obj, Reason: fmt.Sprintf("rollout exceeded its progress deadline (%ds): %s", deref(d.Spec.ProgressDeadlineSeconds, 600), why)}
}
