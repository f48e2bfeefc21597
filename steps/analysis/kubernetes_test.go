package analysis

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutoverhq/cutover/steps/stepstest"
)

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
