package testcluster

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseSleep(t *testing.T) {
	for in, want := range map[string]time.Duration{"5": 5 * time.Second, "0.5": 500 * time.Millisecond, "2s": 2 * time.Second, "1m": time.Minute, "1.5h": 90 * time.Minute} {
		if got, err := parseSleep(in); err != nil || got != want {
			t.Errorf("parseSleep(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "5ms"} {
		if _, err := parseSleep(bad); err == nil {
			t.Errorf("parseSleep(%q) accepted", bad)
		}
	}
}

func TestExecAction(t *testing.T) {
	ctx := context.Background()
	for _, ok := range [][]string{{"true"}, {"/bin/sleep", "0"}, {"sh", "-c", "sleep 0.01"}, {"/bin/bash", "-c", "true"}} {
		if err := execAction(ctx, ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range [][]string{{"false"}, {"cat", "/tmp/healthy"}, {"sh", "-c", "curl localhost"}, {}} {
		if err := execAction(ctx, bad); err == nil {
			t.Errorf("%q succeeded", bad)
		}
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := execAction(short, []string{"sleep", "60"}); err == nil {
		t.Error("a sleep past its deadline succeeded")
	}
}

func TestRestartBackoff(t *testing.T) {
	want := []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for n, w := range want {
		if got := restartBackoff(int32(n)); got != w {
			t.Errorf("restartBackoff(%d) = %v, want %v", n, got, w)
		}
	}
}

func TestContainerEnv(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-1", Namespace: "ns", Labels: map[string]string{"app.kubernetes.io/name": "shop", "track": "canary"}},
		Spec: corev1.PodSpec{NodeName: "process-node-0", Containers: []corev1.Container{{
			Name: "app", Image: "reg:5000/shop:v2",
			Ports: []corev1.ContainerPort{{ContainerPort: 9090}, {ContainerPort: 8080}, {ContainerPort: 53, Protocol: corev1.ProtocolUDP}},
			Env: []corev1.EnvVar{
				{Name: "LATENCY", Value: "10ms"},
				{Name: "MY_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
				{Name: "TRACK", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['track']"}}},
				{Name: "SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}},
				{Name: "LISTEN_HOST", Value: "0.0.0.0"},
			},
		}}},
	}
	got := strings.Join(containerEnv(pod, &pod.Spec.Containers[0], "127.18.0.9", "127.0.0.1:4000", true), " ")
	want := "LATENCY=10ms MY_IP=10.18.0.9 TRACK=canary LISTEN_HOST=127.18.0.9 PORTS=8080,9090 IMAGE=reg:5000/shop:v2 POD_NAME=demo-1 POD_NAMESPACE=ns APP_NAME=shop REGISTRY_URL=http://127.0.0.1:4000/ns"
	if got != want {
		t.Errorf("env\n got %s\nwant %s", got, want)
	}
	side := corev1.Container{Name: "sidecar"}
	if env := strings.Join(containerEnv(pod, &side, "127.18.0.9", "", false), " "); !strings.Contains(env, "PORTS=0 ") || strings.Contains(env, "REGISTRY") {
		t.Errorf("sidecar env %s", env)
	}
}

// The status reflects the containers: Ready only when every container is
// ready and the readiness gates hold; transition times move only on change.
func TestPodStatus(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pod := &corev1.Pod{
		Spec: corev1.PodSpec{
			Containers:     []corev1.Container{{Name: "a", Image: "demo:v1"}, {Name: "b", Image: "demo:v1"}},
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}},
		},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}},
	}
	pr := newPodRunner(context.Background(), &agent{}, pod)
	pr.ip = "127.18.0.3"
	for _, cr := range pr.containers {
		cr.running, cr.ready, cr.started, cr.pid = true, true, true, 42
	}
	pr.containers[1].restarts = 3
	st := pr.status(pod, t0)
	if st.PodIP != "10.18.0.3" || st.Phase != corev1.PodRunning || st.ContainerStatuses[1].RestartCount != 3 || st.ContainerStatuses[0].ContainerID != "process://42" {
		t.Errorf("status %+v", st)
	}
	cond := func(st corev1.PodStatus, c corev1.PodConditionType) corev1.PodCondition {
		for _, x := range st.Conditions {
			if x.Type == c {
				return x
			}
		}
		t.Fatalf("no condition %s", c)
		return corev1.PodCondition{}
	}
	if cond(st, corev1.ContainersReady).Status != corev1.ConditionTrue || cond(st, corev1.PodReady).Status != corev1.ConditionFalse {
		t.Errorf("the readiness gate is not met, yet: %+v", st.Conditions)
	}
	pod.Status = st
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: "example.com/lb", Status: corev1.ConditionTrue})
	st2 := pr.status(pod, t0.Add(time.Minute))
	if r := cond(st2, corev1.PodReady); r.Status != corev1.ConditionTrue || !r.LastTransitionTime.Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("Ready after the gate: %+v", r)
	}
	if c := cond(st2, corev1.ContainersReady); !c.LastTransitionTime.Time.Equal(t0) {
		t.Errorf("ContainersReady moved without a change: %+v", c)
	}
	pr.containers[0].ready = false
	if st3 := pr.status(pod, t0); cond(st3, corev1.PodReady).Status != corev1.ConditionFalse {
		t.Errorf("Ready with a container unready")
	}
	for _, cr := range pr.containers {
		cr.running, cr.done, cr.lastTerm = false, true, &corev1.ContainerStateTerminated{ExitCode: 137}
	}
	if st4 := pr.status(pod, t0); st4.Phase != corev1.PodFailed || st4.ContainerStatuses[0].State.Terminated.ExitCode != 137 {
		t.Errorf("after SIGKILL: %+v", st4)
	}
}
