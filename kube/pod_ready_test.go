package kube

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestNotReadySaysWhyAPodIsNotReady(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
	// pod is a placed pod, Running unless its containers say otherwise,
	// whose Ready condition last changed 1m ago.
	pod := func(name string, ready bool, cs ...corev1.ContainerStatus) *corev1.Pod {
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: corev1.PodSpec{NodeName: "n1"},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: cs,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: ago(time.Minute)}}}}
	}
	running := func(name string, startedAgo time.Duration, restarts int32) corev1.ContainerStatus {
		cs := corev1.ContainerStatus{Name: name, Image: "shop/web:v2", RestartCount: restarts,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(startedAgo)}}}
		if restarts > 0 {
			cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}
		}
		return cs
	}
	waiting := func(reason, msg string, restarts int32) corev1.ContainerStatus {
		cs := corev1.ContainerStatus{Name: "demo", Image: "shop/web:v9", RestartCount: restarts,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
		if restarts > 0 {
			cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}
		}
		return cs
	}
	one := func(p *corev1.Pod) map[types.UID]*corev1.Pod { return map[types.UID]*corev1.Pod{p.UID: p} }

	for _, tc := range []struct {
		name    string
		pods    map[types.UID]*corev1.Pod
		want    string
		recheck time.Duration
	}{
		{"ready pods", one(pod("web-1", true, running("web", time.Minute, 0))), "", 0},
		{"crash loop", one(pod("demo-2", false, waiting("CrashLoopBackOff", "back-off 5m0s restarting failed container=demo", 41))),
			"pod demo-2 CrashLoopBackOff: container demo restarted 41 times, last exit code 1 (Error)", 0},
		{"image pull back-off", one(pod("web-1", false, waiting("ImagePullBackOff", `Back-off pulling image "shop/web:v9"`, 0))),
			"pod web-1 ImagePullBackOff: container demo image shop/web:v9", 0},
		{"image pull refused, with the kubelet's words", one(pod("web-1", false, waiting("ErrImagePull", "manifest unknown", 0))),
			"pod web-1 ErrImagePull: container demo image shop/web:v9: manifest unknown", 0},
		{"missing secret", one(pod("web-1", false, waiting("CreateContainerConfigError", `secret "db" not found`, 0))),
			`pod web-1 CreateContainerConfigError: container demo: secret "db" not found`, 0},
		{"a container being created is not stuck", one(pod("web-1", false, waiting("ContainerCreating", "", 0))), "", 0},
		{"ended with an error", one(pod("demo-2", false, corev1.ContainerStatus{Name: "demo", RestartCount: 3,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}})),
			"pod demo-2 Error: container demo exit code 2, restarted 3 times", 0},
		{"running, not ready long enough", one(pod("web-1", false, running("web", 40*time.Second, 0))),
			"pod web-1 running, not ready for 40s", 0},
		{"running, not ready, after restarts", one(pod("web-1", false, running("web", 12*time.Second, 2))),
			"pod web-1 running, not ready for 12s: container web restarted 2 times, last exit code 137 (OOMKilled)", 0},
		{"running, not ready, of two containers", one(pod("web-1", false, func() corev1.ContainerStatus {
			c := running("proxy", time.Minute, 0)
			c.Ready = true
			return c
		}(), running("web", time.Minute, 0))),
			"pod web-1 running, not ready for 1m0s: container web", 0},
		{"just started: named later", one(pod("web-1", false, running("web", 3*time.Second, 0))), "", SlowReady - 3*time.Second},
		{"a crash-looping init container", one(func() *corev1.Pod {
			p := pod("web-1", false)
			p.Status.Phase = corev1.PodPending
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{waiting("CrashLoopBackOff", "", 5)}
			return p
		}()), "pod web-1 CrashLoopBackOff: init container demo restarted 5 times, last exit code 1 (Error)", 0},
		{"a deleted pod is not named", one(func() *corev1.Pod {
			p := pod("web-1", false, waiting("CrashLoopBackOff", "", 5))
			p.DeletionTimestamp = &metav1.Time{Time: now}
			return p
		}()), "", 0},
		{"the first by name, with how many more", map[types.UID]*corev1.Pod{
			"b": pod("demo-b", false, waiting("CrashLoopBackOff", "", 1)),
			"a": pod("demo-a", false, waiting("ImagePullBackOff", "", 0)),
			"c": pod("demo-c", true, running("web", time.Minute, 0)),
		}, "pod demo-a ImagePullBackOff: container demo image shop/web:v9 (and 1 more pod not ready)", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, recheck := NotReady(tc.pods, now)
			if got != tc.want || recheck != tc.recheck {
				t.Errorf("= %q, %v\nwant %q, %v", got, recheck, tc.want, tc.recheck)
			}
		})
	}
}

func TestStuckNamesUnschedulablePodsFirst(t *testing.T) {
	pods := map[types.UID]*corev1.Pod{
		"a": {ObjectMeta: metav1.ObjectMeta{Name: "web-a", UID: "a"}, Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{
			Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "web", RestartCount: 2,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}}},
		"b": {ObjectMeta: metav1.ObjectMeta{Name: "web-b", UID: "b"}, Status: corev1.PodStatus{Phase: corev1.PodPending,
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Message: "0/3 nodes are available: 3 Insufficient cpu."}}}},
	}
	if got, _ := Stuck(pods, time.Now()); got != "pod web-b Pending: 0/3 nodes are available: 3 Insufficient cpu." {
		t.Errorf("= %q, want the pod the scheduler cannot place", got)
	}
	delete(pods, "b")
	if got, _ := Stuck(pods, time.Now()); got != "pod web-a CrashLoopBackOff: container web restarted 2 times" {
		t.Errorf("= %q, want the crash-looping pod", got)
	}
}
