package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
			sel, err := SelectorOf(&unstructured.Unstructured{Object: map[string]any{"spec": tc.spec}})
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
