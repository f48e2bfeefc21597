package kube

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestAppliedFields(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{}}
	obj.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: "cutover", Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(
			`{"f:metadata":{"f:annotations":{".":{},"f:cutover.dev/run":{}}},"f:spec":{"f:template":{"f:spec":{` +
				`"f:nodeSelector":{"f:ds":{}},"f:containers":{"k:{\"name\":\"demo\"}":{".":{},"f:image":{}}}}}}}`)}},
		{Manager: "cutover", Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:paused":{}}}`)}},
		{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:minReadySeconds":{}}}`)}},
		{Manager: "cutover", Operation: metav1.ManagedFieldsOperationApply, Subresource: "status", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{"f:x":{}}}`)}},
	})
	want := map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{"cutover.dev/run": true}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"nodeSelector": map[string]any{"ds": true}, "containers": true}}},
	}
	if got := AppliedFields(obj, "cutover"); !reflect.DeepEqual(got, want) {
		t.Errorf("AppliedFields = %v, want %v", got, want)
	}
	if got := AppliedFields(obj, "helm"); got != nil {
		t.Errorf("AppliedFields of a manager owning nothing = %v, want nil", got)
	}
}
