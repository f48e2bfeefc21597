package kube

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// RolloutFailed is a rollout that will not finish by waiting longer (a
// Deployment past its progress deadline). Callers must not retry it.
type RolloutFailed struct {
	Object string // "deployment/web in namespace shop"
	Reason string
}

func (e *RolloutFailed) Error() string { return e.Object + ": " + e.Reason }

// RolloutUnfinished is a rollout wait that ended (its attempt timed out,
// the run stopped) before the rollout was done. Waiting again would watch
// the same controllers place the same pods: the step marks it so that the
// engine does not retry its timeout (steps.Stuck).
type RolloutUnfinished struct{ err error }

func (e *RolloutUnfinished) Error() string { return e.err.Error() }
func (e *RolloutUnfinished) Unwrap() error { return e.err }

// HasRollout reports whether RolloutStatus understands kind (apps/v1
// workloads that roll pods).
func HasRollout(apiVersion, kind string) bool {
	if apiVersion != "apps/v1" {
		return false
	}
	switch kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		return true
	}
	return false
}

// Observed is the condition of a wait that is done once the object's
// controller has seen its latest generation.
func Observed(obj *unstructured.Unstructured) (bool, string, error) {
	if obj == nil {
		return false, "", fmt.Errorf("the object was deleted while waiting for its controller")
	}
	og, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	return og >= obj.GetGeneration(), "", nil
}

// OnDelete says whether obj is a DaemonSet or StatefulSet with
// updateStrategy OnDelete: its controller replaces no pod when its
// template changes, so a changed template starts no rollout to wait for.
func OnDelete(obj *unstructured.Unstructured) bool {
	if obj == nil || obj.GetAPIVersion() != "apps/v1" || (obj.GetKind() != "DaemonSet" && obj.GetKind() != "StatefulSet") {
		return false
	}
	t, _, _ := unstructured.NestedString(obj.Object, "spec", "updateStrategy", "type")
	return t == "OnDelete"
}

// RolloutStatus says where a workload's rollout stands, with the semantics
// of `kubectl rollout status`: done; waiting, with a message saying for what;
// or failed (a *RolloutFailed error, with the message of what it was
// waiting for when there is one). A controller that has not yet observed
// the latest spec is always "waiting": its status describes an older spec.
func RolloutStatus(obj *unstructured.Unstructured) (done bool, msg string, err error) {
	return rolloutStatus(obj, nil, time.Time{})
}

// rolloutStatus is RolloutStatus at now, with a Deployment's rollout that
// its controller does not time timed by pc (nil: kubectl's verdict alone).
func rolloutStatus(obj *unstructured.Unstructured, pc *progressClock, now time.Time) (done bool, msg string, err error) {
	if pc != nil {
		pc.due = time.Time{}
	}
	name := fmt.Sprintf("%s/%s", kindLower(obj.GetKind()), obj.GetName())
	switch obj.GetKind() {
	case "Deployment":
		var d appsv1.Deployment
		if err := fromUnstructured(obj, &d); err != nil {
			return false, "", err
		}
		return deploymentStatus(name, obj.GetNamespace(), &d, pc, now)
	case "StatefulSet":
		var s appsv1.StatefulSet
		if err := fromUnstructured(obj, &s); err != nil {
			return false, "", err
		}
		return statefulSetStatus(name, &s)
	case "DaemonSet":
		var d appsv1.DaemonSet
		if err := fromUnstructured(obj, &d); err != nil {
			return false, "", err
		}
		return daemonSetStatus(name, &d)
	case "ReplicaSet":
		var r appsv1.ReplicaSet
		if err := fromUnstructured(obj, &r); err != nil {
			return false, "", err
		}
		return replicaSetStatus(name, &r)
	}
	return false, "", fmt.Errorf("%s: rollout status is defined for Deployment, StatefulSet, DaemonSet and ReplicaSet, not %s", name, obj.GetKind())
}

// deploymentStatus judges d at now; pc (may be nil: kubectl's verdict
// alone) times a rollout its controller does not (progressClock). A
// failure comes with what the rollout was waiting for, as a wait's last
// message (Condition).
func deploymentStatus(name, ns string, d *appsv1.Deployment, pc *progressClock, now time.Time) (bool, string, error) {
	if d.Generation > d.Status.ObservedGeneration {
		return false, name + ": waiting for the deployment controller to observe the new spec", nil
	}
	obj := name
	if ns != "" {
		obj += " in namespace " + ns
	}
	want := deref(d.Spec.Replicas, 1)
	st := d.Status
	var waiting string
	switch {
	case st.UpdatedReplicas < want:
		waiting = fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		waiting = fmt.Sprintf("%d old replicas pending termination", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		waiting = fmt.Sprintf("%d of %d updated replicas are available", st.AvailableReplicas, st.UpdatedReplicas)
	}
	msg := ""
	if waiting != "" {
		msg = name + ": " + waiting
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == reasonDeadline && !staleCondition(c.LastUpdateTime, d) {
			return false, msg, pastDeadline(obj, d, c.Message)
		}
	}
	if d.Spec.Paused && st.UpdatedReplicas < want {
		// A paused rollout never progresses: waiting for it would hang
		// until the stage's timeout. Say why at once.
		return false, msg, &RolloutFailed{Object: obj, Reason: fmt.Sprintf("the deployment is paused (spec.paused) with %d of %d replicas updated, so its rollout cannot progress: an earlier run may have left it paused (see cutover status, and undo that run), or resume it (kubectl rollout resume)", st.UpdatedReplicas, want)}
	}
	if waiting == "" {
		return true, fmt.Sprintf("%s: %d of %d updated replicas are available", name, st.AvailableReplicas, want), nil
	}
	if pc != nil {
		if err := pc.judge(obj, d, waiting, now); err != nil {
			return false, msg, err
		}
	}
	return false, msg, nil
}

func statefulSetStatus(name string, s *appsv1.StatefulSet) (bool, string, error) {
	if s.Status.ObservedGeneration == 0 || s.Generation > s.Status.ObservedGeneration {
		return false, name + ": waiting for the statefulset controller to observe the new spec", nil
	}
	want := deref(s.Spec.Replicas, 1)
	if s.Status.ReadyReplicas < want {
		return false, fmt.Sprintf("%s: %d of %d pods ready", name, s.Status.ReadyReplicas, want), nil
	}
	// OnDelete never rolls pods by itself: once the spec is observed and
	// the pods are ready there is nothing more to wait for (kubectl refuses
	// to watch it; a release step must not hang on it).
	if s.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		return true, fmt.Sprintf("%s: %d pods ready (OnDelete: pods update when deleted)", name, s.Status.ReadyReplicas), nil
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		return partitionedStatus(name, want, *ru.Partition, s.Status)
	}
	if s.Status.UpdateRevision != s.Status.CurrentRevision {
		return false, fmt.Sprintf("%s: %d of %d pods at revision %s", name, s.Status.UpdatedReplicas, want, s.Status.UpdateRevision), nil
	}
	return true, fmt.Sprintf("%s: %d pods ready at revision %s", name, s.Status.ReadyReplicas, s.Status.CurrentRevision), nil
}

func daemonSetStatus(name string, d *appsv1.DaemonSet) (bool, string, error) {
	if d.Generation > d.Status.ObservedGeneration {
		return false, name + ": waiting for the daemonset controller to observe the new spec", nil
	}
	st := d.Status
	if d.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType && st.UpdatedNumberScheduled < st.DesiredNumberScheduled {
		return false, fmt.Sprintf("%s: %d of %d updated pods scheduled", name, st.UpdatedNumberScheduled, st.DesiredNumberScheduled), nil
	}
	if st.NumberAvailable < st.DesiredNumberScheduled {
		return false, fmt.Sprintf("%s: %d of %d pods available", name, st.NumberAvailable, st.DesiredNumberScheduled), nil
	}
	return true, fmt.Sprintf("%s: %d of %d pods available", name, st.NumberAvailable, st.DesiredNumberScheduled), nil
}

// replicaSetStatus: a ReplicaSet has no rollout of its own; it is done when
// it runs exactly the replicas it wants and all are available.
func replicaSetStatus(name string, r *appsv1.ReplicaSet) (bool, string, error) {
	if r.Generation > r.Status.ObservedGeneration {
		return false, name + ": waiting for the replicaset controller to observe the new spec", nil
	}
	want := deref(r.Spec.Replicas, 1)
	st := r.Status
	switch {
	case st.Replicas > want:
		return false, fmt.Sprintf("%s: %d extra replicas pending termination", name, st.Replicas-want), nil
	case st.AvailableReplicas < want:
		return false, fmt.Sprintf("%s: %d of %d replicas are available", name, st.AvailableReplicas, want), nil
	}
	return true, fmt.Sprintf("%s: %d of %d replicas are available", name, st.AvailableReplicas, want), nil
}

func fromUnstructured(u *unstructured.Unstructured, into any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return fmt.Errorf("reading %s/%s: %w", kindLower(u.GetKind()), u.GetName(), err)
	}
	return nil
}

func deref(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// staleCondition reports a condition last updated no later than the newest
// write to the deployment's spec: the controller keeps a
// ProgressDeadlineExceeded condition until the rollout progresses again,
// so right after an undo restores a working template the verdict still
// names the failed ReplicaSet. A deadline cannot have passed for a spec
// written after it was declared.
func staleCondition(updated metav1.Time, d *appsv1.Deployment) bool {
	var lastWrite time.Time
	for _, f := range d.ManagedFields {
		if f.Subresource == "" && f.Time != nil && f.Time.After(lastWrite) {
			lastWrite = f.Time.Time
		}
	}
	return !lastWrite.IsZero() && !updated.Time.After(lastWrite)
}
