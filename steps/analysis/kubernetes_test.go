package analysis

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutoverhq/cutover/steps/stepstest"
)

func TestSelectorOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec map[string]any
		want string // "" = no pods
	}{
		{"workload", map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}}}, "app=web"},
		{"expressions", map[string]any{"selector": map[string]any{"matchExpressions": []any{
			map[string]any{"key": "version", "operator": "In", "values": []any{"v1", "v2"}}}}}, "version in (v1,v2)"},
		{"service map", map[string]any{"selector": map[string]any{"app": "web", "version": "v2"}}, "app=web,version=v2"},
		{"empty selector selects nothing, not everything", map[string]any{"selector": map[string]any{}}, ""},
		{"empty matchLabels", map[string]any{"selector": map[string]any{"matchLabels": map[string]any{}}}, ""},
		{"no selector", map[string]any{"data": "x"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := selectorOf(&unstructured.Unstructured{Object: map[string]any{"spec": tc.spec}})
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if sel != nil {
				got = sel.String()
			}
			if got != tc.want {
				t.Errorf("selector = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKubeResult(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web"},
		"status":   map[string]any{"readyReplicas": int64(1)},
	}}
	ready := corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
	now := metav1.Now()
	pods := []corev1.Pod{
		{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{ready},
			ContainerStatuses: []corev1.ContainerStatus{{RestartCount: 2}, {RestartCount: 1}}, InitContainerStatuses: []corev1.ContainerStatus{{RestartCount: 1}}}},
		{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{ready}}},
		{Status: corev1.PodStatus{}},
	}
	r, short, err := kubeResult(obj, pods)
	if err != nil {
		t.Fatal(err)
	}
	if stepstest.Int(r, "ready_pods", -1) != 1 || stepstest.Int(r, "pods", -1) != 3 || stepstest.Int(r, "restarts", -1) != 4 {
		t.Errorf("result = %#v", r)
	}
	if short != "ready 1/3 pods, 4 restarts" {
		t.Errorf("short = %q", short)
	}
	if stepstest.Int(r.GetAttr("status"), "readyReplicas", -1) != 1 || stepstest.Str(r.GetAttr("object"), "kind") != "Deployment" {
		t.Errorf("object fields missing: %#v", r)
	}
	r, short, _ = kubeResult(obj, nil)
	if !r.GetAttr("ready_pods").IsNull() || short != "Deployment web" {
		t.Errorf("without pods: %#v, %q", r.GetAttr("ready_pods"), short)
	}
}
