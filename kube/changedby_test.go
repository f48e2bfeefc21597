package kube

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// An undo names who changed an object after the run wrote it, from its
// managedFields: the newest manager's entry, unless it is cutover's own.
func TestChangedBy(t *testing.T) {
	at := func(s int) *metav1.Time { return &metav1.Time{Time: time.Date(2026, 12, 3, 18, 1, s, 0, time.UTC)} }
	entry := func(manager string, s int, sub string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, Time: at(s), Subresource: sub}
	}
	for _, tc := range []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    string
	}{
		{"a person after the run", []metav1.ManagedFieldsEntry{entry(FieldManager, 1, ""), entry("kubectl-set", 5, "")}, " (by kubectl-set at 18:01:05 UTC)"},
		{"listed before the run's entry", []metav1.ManagedFieldsEntry{entry("kubectl-set", 5, ""), entry(FieldManager, 1, "")}, " (by kubectl-set at 18:01:05 UTC)"},
		{"same second as the run", []metav1.ManagedFieldsEntry{entry("kubectl-edit", 1, ""), entry(FieldManager, 1, "")}, " (by kubectl-edit at 18:01:01 UTC)"},
		{"the run's own write is the newest", []metav1.ManagedFieldsEntry{entry("kubectl-set", 1, ""), entry(FieldManager, 5, "")}, ""},
		{"a status write does not count", []metav1.ManagedFieldsEntry{entry(FieldManager, 1, ""), entry("kube-controller-manager", 9, "status")}, ""},
		{"no managedFields", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{}}
			u.SetManagedFields(tc.entries)
			if got := changedBy(u); got != tc.want {
				t.Errorf("changedBy = %q, want %q", got, tc.want)
			}
		})
	}
}
