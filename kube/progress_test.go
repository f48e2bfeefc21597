package kube

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// recreating is a Recreate Deployment whose spec was written at 12:00:10
// (server time) and observed by its controller, with counts
// replicas/updated/ready (ready pods are available) and the Progressing
// condition cond.
func recreating(replicas, updated, ready int32, cond appsv1.DeploymentCondition) *appsv1.Deployment {
	wrote := metav1.NewTime(time.Date(2026, 12, 3, 12, 0, 10, 0, time.UTC))
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: 3, ManagedFields: []metav1.ManagedFieldsEntry{
			{Manager: "cutover", Operation: metav1.ManagedFieldsOperationApply, Time: &wrote},
			{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: ptr.To(metav1.NewTime(wrote.Add(time.Minute)))},
		}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), ProgressDeadlineSeconds: ptr.To[int32](10),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: replicas, UpdatedReplicas: updated,
			ReadyReplicas: ready, AvailableReplicas: ready, Conditions: []appsv1.DeploymentCondition{cond}},
	}
}

func progressing(reason, msg string, at time.Time) appsv1.DeploymentCondition {
	status := corev1.ConditionTrue
	if reason == reasonDeadline {
		status = corev1.ConditionFalse
	}
	return appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: status, Reason: reason, Message: msg,
		LastUpdateTime: metav1.NewTime(at), LastTransitionTime: metav1.NewTime(at)}
}

// A Recreate rollout whose Progressing condition is the earlier rollout's
// (NewReplicaSetAvailable, naming the old ReplicaSet: the controller
// counts such a rollout complete and times nothing) fails once it has
// made no progress for progressDeadlineSeconds, with the controller's
// verdict's wording and why cutover gave it; progress starts the clock
// again, as the controller's does.
func TestProgressDeadlineOfAnUntimedRollout(t *testing.T) {
	before := time.Date(2026, 12, 3, 12, 0, 2, 0, time.UTC) // the earlier rollout's end
	after := time.Date(2026, 12, 3, 12, 0, 11, 0, time.UTC) // the controller took up this spec
	old := progressing(reasonAvailable, `ReplicaSet "web-76554b7697" has successfully progressed.`, before)
	t0 := time.Now()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	type step struct {
		d       *appsv1.Deployment
		now     int // seconds after t0
		due     int // seconds after t0; -1: no deadline runs
		failing bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"stale condition: fails at the deadline", []step{
			{recreating(2, 2, 0, old), 0, 10, false},
			{recreating(2, 2, 0, old), 9, 10, false},
			{recreating(2, 2, 0, old), 10, 0, true},
		}},
		{"progress starts the clock again", []step{
			{recreating(2, 2, 0, old), 0, 10, false},
			{recreating(2, 2, 1, old), 8, 18, false},
			{recreating(2, 2, 1, old), 17, 18, false},
			{recreating(2, 2, 1, old), 18, 0, true},
		}},
		{"a new generation starts the clock again", []step{
			{recreating(2, 2, 0, old), 0, 10, false},
			{func() *appsv1.Deployment {
				d := recreating(2, 2, 0, old)
				d.Generation, d.Status.ObservedGeneration = 4, 4
				return d
			}(), 9, 19, false},
		}},
		{"old pods stopping: the new ReplicaSet has no pods yet", []step{
			{recreating(0, 0, 0, old), 0, -1, false},
			{recreating(0, 0, 0, old), 60, -1, false},
			{recreating(2, 2, 0, old), 61, 71, false},
		}},
		{"stale deadline verdict of the rollout an undo replaces", []step{
			{recreating(2, 2, 0, progressing(reasonDeadline, `ReplicaSet "web-68f8ff998c" has timed out progressing.`, before)), 0, 10, false},
			{recreating(2, 2, 0, progressing(reasonDeadline, `ReplicaSet "web-68f8ff998c" has timed out progressing.`, before)), 10, 0, true},
		}},
		{"the controller times this rollout", []step{
			{recreating(2, 2, 0, progressing("NewReplicaSetCreated", `Created new replica set "web-68f8ff998c"`, after)), 0, -1, false},
			{recreating(2, 2, 0, progressing("NewReplicaSetCreated", `Created new replica set "web-68f8ff998c"`, after)), 60, -1, false},
		}},
		{"completed after the spec's write: a pod lost later is no rollout", []step{
			{recreating(2, 2, 1, progressing(reasonAvailable, `ReplicaSet "web-68f8ff998c" has successfully progressed.`, after)), 0, -1, false},
			{recreating(2, 2, 1, progressing(reasonAvailable, `ReplicaSet "web-68f8ff998c" has successfully progressed.`, after)), 60, -1, false},
		}},
		{"no progress deadline", []step{
			{func() *appsv1.Deployment {
				d := recreating(2, 2, 0, old)
				d.Spec.ProgressDeadlineSeconds = ptr.To[int32](math.MaxInt32)
				return d
			}(), 600, -1, false},
		}},
		{"done", []step{
			{recreating(2, 2, 0, old), 0, 10, false},
			{recreating(2, 2, 2, old), 30, -1, false},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var pc progressClock
			for i, s := range c.steps {
				done, msg, err := rolloutStatus(mustU(t, s.d, "Deployment"), &pc, at(s.now))
				if s.failing {
					var rf *RolloutFailed
					if !errors.As(err, &rf) {
						t.Fatalf("step %d: = %v %q %v, want a *RolloutFailed", i, done, msg, err)
					}
					for _, want := range []string{
						"deployment/web in namespace shop: rollout exceeded its progress deadline (10s): no progress for 10s (0 of 2 updated replicas are available); ",
						"cutover applied the deadline because the deployment controller did not",
					} {
						if !strings.Contains(err.Error(), want) && !strings.Contains(err.Error(), strings.Replace(want, "0 of 2", "1 of 2", 1)) {
							t.Errorf("step %d: %q, want it to contain %q", i, err, want)
						}
					}
					if !strings.Contains(err.Error(), "web-76554b7697") && !strings.Contains(err.Error(), "web-68f8ff998c") {
						t.Errorf("step %d: %q, want it to name the ReplicaSet the condition names", i, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if wantDone := s.d.Status.AvailableReplicas == 2; done != wantDone {
					t.Errorf("step %d: done = %v %q", i, done, msg)
				}
				want := time.Time{}
				if s.due >= 0 && !done {
					want = at(s.due)
				}
				if !pc.due.Equal(want) {
					t.Errorf("step %d: due = %v, want %v", i, pc.due.Sub(t0), want.Sub(t0))
				}
			}
		})
	}
}

// The controller's own verdict and cutover's are one failure, worded
// alike (pastDeadline).
func TestProgressDeadlineVerdictsAreWordedAlike(t *testing.T) {
	d := recreating(2, 2, 0, progressing(reasonDeadline, `ReplicaSet "web-68f8ff998c" has timed out progressing.`, time.Date(2026, 12, 3, 12, 0, 30, 0, time.UTC)))
	_, _, err := RolloutStatus(mustU(t, d, "Deployment"))
	want := `deployment/web in namespace shop: rollout exceeded its progress deadline (10s): ReplicaSet "web-68f8ff998c" has timed out progressing.`
	if err == nil || err.Error() != want {
		t.Errorf("= %v, want %q", err, want)
	}
	// kubectl's verdict alone (no clock) never applies the deadline itself.
	old := recreating(2, 2, 0, progressing(reasonAvailable, `ReplicaSet "web-76554b7697" has successfully progressed.`, time.Date(2026, 12, 3, 12, 0, 2, 0, time.UTC)))
	if done, msg, err := RolloutStatus(mustU(t, old, "Deployment")); done || err != nil || msg != "deployment/web: 0 of 2 updated replicas are available" {
		t.Errorf("= %v %q %v, want waiting", done, msg, err)
	}
}
