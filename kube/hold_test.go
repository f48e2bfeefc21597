package kube

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestHoldFields(t *testing.T) {
	mark := map[string]any{"annotations": map[string]any{AnnotationRun: true}}
	pause := map[string]any{"spec": map[string]any{"paused": true}, "metadata": mark}
	if !Holds(pause) || !HoldOnly(pause) {
		t.Fatalf("a pause patch is a hold, and only one: %v", pause)
	}
	more := map[string]any{"spec": map[string]any{"paused": true, "replicas": true}, "metadata": mark}
	if !Holds(more) || HoldOnly(more) {
		t.Fatalf("a pause with replicas is a hold, not only one")
	}
	label := map[string]any{"spec": map[string]any{"paused": true}, "metadata": map[string]any{"labels": map[string]any{"x": true}}}
	if HoldOnly(label) {
		t.Fatalf("a label is content")
	}
	if Holds(map[string]any{"spec": map[string]any{"template": true}}) || HoldOnly(map[string]any{"metadata": mark}) {
		t.Fatalf("no spec.paused, no hold")
	}
}

// The run's mark put back by an earlier stage's undo is left out of the
// drift check and the restore; every other field stays.
func TestMarkPutBack(t *testing.T) {
	fields := map[string]any{
		"spec":     map[string]any{"paused": true},
		"metadata": map[string]any{"annotations": map[string]any{AnnotationRun: true, "other": true}},
	}
	live := &unstructured.Unstructured{Object: map[string]any{}}
	live.SetAnnotations(map[string]string{AnnotationRun: "r-before"})
	o := Revert{Fields: fields, RunID: "r-this"}
	if !o.markPutBack(live) {
		t.Fatalf("a mark other than the run's is put back")
	}
	live.SetAnnotations(map[string]string{AnnotationRun: "r-this"})
	if o.markPutBack(live) {
		t.Fatalf("the run's own mark is the run's to restore")
	}
	if (Revert{Fields: map[string]any{"spec": map[string]any{"paused": true}}, RunID: "r-this"}).markPutBack(&unstructured.Unstructured{Object: map[string]any{}}) {
		t.Fatalf("a write that set no mark has none put back")
	}
	want := map[string]any{
		"spec":     map[string]any{"paused": true},
		"metadata": map[string]any{"annotations": map[string]any{"other": true}},
	}
	if got := withoutMark(fields); !reflect.DeepEqual(got, want) {
		t.Fatalf("withoutMark: %v, want %v", got, want)
	}
	only := map[string]any{"spec": map[string]any{"paused": true}, "metadata": map[string]any{"annotations": map[string]any{AnnotationRun: true}}}
	if got := withoutMark(only); !reflect.DeepEqual(got, map[string]any{"spec": map[string]any{"paused": true}}) {
		t.Fatalf("withoutMark of mark only: %v", got)
	}
	if _, ok := fields["metadata"].(map[string]any)["annotations"].(map[string]any)[AnnotationRun]; !ok {
		t.Fatalf("withoutMark changed its argument")
	}
}
