package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// PodsOf lists the pods obj selects: itself for a Pod, else the pods of its
// spec.selector in its namespace. nil (not empty) when the object has no
// pods to speak of (no selector, or an empty one).
func (c *Clients) PodsOf(ctx context.Context, obj *unstructured.Unstructured) ([]corev1.Pod, error) {
	if obj.GetKind() == "Pod" && obj.GetAPIVersion() == "v1" {
		var pod corev1.Pod
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &pod); err != nil {
			return nil, err
		}
		return []corev1.Pod{pod}, nil
	}
	sel, err := SelectorOf(obj)
	if err != nil || sel == nil {
		return nil, err
	}
	list, err := c.Typed.CoreV1().Pods(obj.GetNamespace()).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	if list.Items == nil {
		return []corev1.Pod{}, nil
	}
	return list.Items, nil
}

// SelectorOf reads spec.selector, a LabelSelector for workloads and a plain
// map for Services and ReplicationControllers. An empty selector would select
// every pod in the namespace; it is taken as "no pods" (nil) instead.
func SelectorOf(obj *unstructured.Unstructured) (labels.Selector, error) {
	raw, ok, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "selector")
	m, isMap := raw.(map[string]any)
	if !ok || !isMap || len(m) == 0 {
		return nil, nil
	}
	_, hasLabels := m["matchLabels"]
	_, hasExprs := m["matchExpressions"]
	if hasLabels || hasExprs {
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ls); err != nil {
			return nil, fmt.Errorf("spec.selector: %w", err)
		}
		if len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0 {
			return nil, nil
		}
		return metav1.LabelSelectorAsSelector(&ls)
	}
	set := labels.Set{}
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("spec.selector.%s is not a string", k)
		}
		set[k] = s
	}
	return labels.SelectorFromSet(set), nil
}
