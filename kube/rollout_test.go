package kube

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func mustU(t *testing.T, obj runtime.Object, kind string) *unstructured.Unstructured {
	t.Helper()
	u, err := ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u.SetAPIVersion("apps/v1")
	u.SetKind(kind)
	return u
}

func dep(gen, observed int64, replicas, updated, total, available int32, conds ...appsv1.DeploymentCondition) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: gen},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
		Status: appsv1.DeploymentStatus{ObservedGeneration: observed, UpdatedReplicas: updated,
			Replicas: total, AvailableReplicas: available, Conditions: conds},
	}
}

func TestRolloutStatusDeployment(t *testing.T) {
	deadline := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
		Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "web-1" has timed out progressing.`}
	progressing := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}
	cases := []struct {
		name    string
		d       *appsv1.Deployment
		done    bool
		msg     string
		failing bool
	}{
		{"not observed", dep(2, 1, 3, 3, 3, 3), false, "observe the new spec", false},
		{"updating", dep(2, 2, 10, 3, 10, 3), false, "3 of 10 replicas updated", false},
		{"old pending termination", dep(2, 2, 3, 3, 5, 3), false, "2 old replicas pending termination", false},
		{"not available", dep(2, 2, 3, 3, 3, 1), false, "1 of 3 updated replicas are available", false},
		{"done", dep(2, 2, 3, 3, 3, 3, progressing), true, "3 of 3", false},
		{"scaled to zero", dep(2, 2, 0, 0, 0, 0), true, "", false},
		// A verdict comes with what the rollout waited for (a wait's
		// failure ends with it).
		{"deadline exceeded", dep(2, 2, 3, 1, 4, 3, deadline), false, "deployment/web: 1 of 3 replicas updated", true},
		// An old deadline condition from before the spec changed is not final.
		{"deadline of an unobserved spec", dep(3, 2, 3, 1, 4, 3, deadline), false, "observe", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done, msg, err := RolloutStatus(mustU(t, c.d, "Deployment"))
			if c.failing {
				var rf *RolloutFailed
				if !errors.As(err, &rf) {
					t.Fatalf("err = %v, want *RolloutFailed", err)
				}
				if !strings.Contains(err.Error(), "deployment/web in namespace shop") || !strings.Contains(err.Error(), "progress deadline") {
					t.Errorf("error %q should name the deployment and the deadline", err)
				}
				if msg != c.msg {
					t.Errorf("message = %q, want %q", msg, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if done != c.done || !strings.Contains(msg, c.msg) {
				t.Errorf("= %v %q, want %v and a message containing %q", done, msg, c.done, c.msg)
			}
		})
	}
}

func TestRolloutStatusStatefulSet(t *testing.T) {
	sts := func(gen, observed int64, replicas, ready, updated int32, cur, upd string, partition *int32, onDelete bool, current ...int32) *appsv1.StatefulSet {
		s := &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "db", Generation: gen},
			Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas), UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type: appsv1.RollingUpdateStatefulSetStrategyType}},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: observed, ReadyReplicas: ready, UpdatedReplicas: updated,
				CurrentRevision: cur, UpdateRevision: upd},
		}
		if partition != nil {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: partition}
		}
		if onDelete {
			s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
		}
		if len(current) > 0 {
			s.Status.CurrentReplicas = current[0]
		}
		return s
	}
	cases := []struct {
		name string
		s    *appsv1.StatefulSet
		done bool
	}{
		{"never observed", sts(1, 0, 3, 3, 3, "a", "a", nil, false), false},
		{"not ready", sts(1, 1, 3, 2, 3, "a", "a", nil, false), false},
		{"revisions differ", sts(2, 2, 3, 3, 1, "a", "b", nil, false), false},
		{"done", sts(2, 2, 3, 3, 3, "b", "b", nil, false), true},
		{"partition pending", sts(2, 2, 4, 4, 1, "a", "b", ptr.To[int32](2), false), false},
		{"partition done", sts(2, 2, 4, 4, 2, "a", "b", ptr.To[int32](2), false, 2), true},
		// db-2 terminating: ready still counts it, neither revision does.
		{"partition pod being replaced", sts(2, 2, 4, 4, 1, "a", "b", ptr.To[int32](3), false, 2), false},
		{"partition pod replaced", sts(2, 2, 4, 4, 1, "a", "b", ptr.To[int32](3), false, 3), true},
		{"partition above replicas", sts(2, 2, 3, 3, 0, "a", "b", ptr.To[int32](5), false, 3), true},
		{"on delete", sts(2, 2, 3, 3, 0, "a", "b", nil, true), true},
	}
	for _, c := range cases {
		done, msg, err := RolloutStatus(mustU(t, c.s, "StatefulSet"))
		if err != nil || done != c.done || msg == "" {
			t.Errorf("%s: = %v %q %v, want done=%v with a message", c.name, done, msg, err, c.done)
		}
	}
	// A partitioned rollout's lines say "at or above" the partition and
	// count pods by the revision they run: an install with the partition
	// at the replica count updates no ordinal, and the end of an undo
	// (partition back to 3, db-2 re-created at a) names a, not b.
	lines := []struct {
		name string
		s    *appsv1.StatefulSet
		want string
	}{
		{"install", sts(1, 1, 3, 3, 3, "a", "a", ptr.To[int32](3), false, 3), "statefulset/db: 3 pods ready at revision a (partition 3, no update pending)"},
		{"pending", sts(2, 2, 4, 4, 1, "a", "b", ptr.To[int32](2), false, 3), "statefulset/db: 1 of 2 pods at or above partition 2 at update revision b"},
		{"done", sts(2, 2, 4, 4, 2, "a", "b", ptr.To[int32](2), false, 2), "statefulset/db: partitioned rollout done (partition 2, 2 pods at or above it): 2 at update revision b, 2 at current revision a, 4 ready"},
		{"undone", sts(3, 3, 3, 3, 0, "a", "b", ptr.To[int32](3), false, 3), "statefulset/db: partitioned rollout done (partition 3, 0 pods at or above it): 0 at update revision b, 3 at current revision a, 3 ready"},
	}
	for _, c := range lines {
		if _, msg, _ := RolloutStatus(mustU(t, c.s, "StatefulSet")); msg != c.want {
			t.Errorf("%s: %q, want %q", c.name, msg, c.want)
		}
	}
}

func TestRolloutStatusDaemonSetAndReplicaSet(t *testing.T) {
	ds := func(gen, observed int64, desired, updated, available int32) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Generation: gen},
			Spec: appsv1.DaemonSetSpec{UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType}},
			Status: appsv1.DaemonSetStatus{ObservedGeneration: observed, DesiredNumberScheduled: desired,
				UpdatedNumberScheduled: updated, NumberAvailable: available}}
	}
	rs := func(gen, observed int64, want, total, available int32) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Generation: gen},
			Spec:   appsv1.ReplicaSetSpec{Replicas: ptr.To(want)},
			Status: appsv1.ReplicaSetStatus{ObservedGeneration: observed, Replicas: total, AvailableReplicas: available}}
	}
	cases := []struct {
		name string
		obj  runtime.Object
		kind string
		done bool
	}{
		{"ds not observed", ds(2, 1, 2, 2, 2), "DaemonSet", false},
		{"ds updating", ds(2, 2, 2, 1, 2), "DaemonSet", false},
		{"ds unavailable", ds(2, 2, 2, 2, 1), "DaemonSet", false},
		{"ds done", ds(2, 2, 2, 2, 2), "DaemonSet", true},
		{"rs not observed", rs(2, 1, 3, 3, 3), "ReplicaSet", false},
		{"rs scaling down", rs(2, 2, 1, 3, 1), "ReplicaSet", false},
		{"rs unavailable", rs(2, 2, 3, 3, 2), "ReplicaSet", false},
		{"rs done", rs(2, 2, 3, 3, 3), "ReplicaSet", true},
	}
	for _, c := range cases {
		done, msg, err := RolloutStatus(mustU(t, c.obj, c.kind))
		if err != nil || done != c.done || msg == "" {
			t.Errorf("%s: = %v %q %v, want done=%v with a message", c.name, done, msg, err, c.done)
		}
	}
	if _, _, err := RolloutStatus(mustU(t, &corev1.Service{}, "Service")); err == nil {
		t.Error("a Service has no rollout; want an error")
	}
}

func TestUnschedulableNamesThePendingPods(t *testing.T) {
	pending := func(name, msg string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Status: corev1.PodStatus{
			Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: msg}}}}
	}
	running := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", UID: "a"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	pods := map[types.UID]*corev1.Pod{"a": running}
	if got := Unschedulable(pods); got != "" {
		t.Errorf("running pods: %q, want nothing", got)
	}
	pods["c"] = pending("c", "0/3 nodes are available: 3 Insufficient cpu.")
	pods["b"] = pending("b", "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")
	want := "pod b Pending: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. (and 1 more pod not scheduled)"
	if got := Unschedulable(pods); got != want {
		t.Errorf("= %q, want %q", got, want)
	}
}
