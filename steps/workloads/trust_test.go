package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func fakeDyn(objs ...runtime.Object) *dynfake.FakeDynamicClient {
	return dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{cmGVR: "ConfigMapList"}, objs...)
}

func rawJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writesOf(dyn *dynfake.FakeDynamicClient) []string {
	var out []string
	for _, a := range dyn.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
			out = append(out, v)
		}
	}
	return out
}

// A forged "did not exist" record naming an object the run never created
// (it has no mark) is refused; the object stays.
func TestUndoRefusesToDeleteAnUnmarkedObject(t *testing.T) {
	dyn := fakeDyn(withUID(configMap("shop", "payments", map[string]any{"k": "v"}), "u-pay"))
	c := &kube.Clients{Dynamic: dyn}
	err := steps.RestoreObjects(context.Background(), &steps.Env{RunID: "run-1"}, c,
		[]json.RawMessage{snapshotJSON(t, cmRef("payments"), nil)}, steps.UndoPolicy{})
	var te *steps.TargetError
	if !errors.As(err, &te) || !strings.Contains(te.Why, "no cutover.dev/run mark") {
		t.Fatalf("err = %v, want a TargetError about the missing mark", err)
	}
	if w := writesOf(dyn); len(w) != 0 {
		t.Errorf("writes = %v, want none", w)
	}
}

// An object the run created, deleted and re-created since by someone else
// (another UID than the one noted after the create), is left alone, even
// with --force, and named.
func TestUndoLeavesARecreatedObject(t *testing.T) {
	for _, force := range []bool{false, true} {
		live := withUID(configMap("shop", "cfg", map[string]any{"k": "theirs"}), "u-theirs")
		dyn := fakeDyn(live)
		c := &kube.Clients{Dynamic: dyn}
		recs := []json.RawMessage{
			snapshotJSON(t, cmRef("cfg"), nil),
			rawJSON(t, kube.Written{Wrote: cmRef("cfg"), UID: "u-ours", Digest: "x"}),
		}
		err := steps.RestoreObjects(context.Background(), &steps.Env{RunID: "run-1", Force: force}, c, recs, steps.UndoPolicy{})
		var de *steps.DriftError
		if !errors.As(err, &de) || len(de.Changed) != 1 || !strings.Contains(de.Changed[0], "configmap/cfg in namespace shop: deleted and re-created") {
			t.Fatalf("force %v: err = %v, want a DriftError naming the configmap", force, err)
		}
		if w := writesOf(dyn); len(w) != 0 {
			t.Errorf("force %v: writes = %v, want none", force, w)
		}
	}
}

// deployRecords are the records of a deploy that changed data.k of an
// existing ConfigMap from "v1" to "v2": the snapshot with the fields it set,
// and the note written after the apply.
func deployRecords(t *testing.T, stored *unstructured.Unstructured) []json.RawMessage {
	prev := withUID(configMap("shop", "cfg", map[string]any{"k": "v1", "other": "x"}), "u1")
	s, err := kube.SnapshotOf(cmRef("cfg"), prev)
	if err != nil {
		t.Fatal(err)
	}
	manifest := configMap("shop", "cfg", map[string]any{"k": "v2"})
	kube.Mark(manifest, "run-1")
	s.Fields = kube.FieldsOf(manifest.Object)
	return []json.RawMessage{rawJSON(t, s), rawJSON(t, steps.WrittenBy(cmRef("cfg"), stored, s.Fields))}
}

// Someone changed a field the run set: left as is and named; --force
// restores it. A field the run never set (data.other) is kept either way.
func TestUndoDriftAndForce(t *testing.T) {
	stored := withUID(configMap("shop", "cfg", map[string]any{"k": "v2", "other": "x"}), "u1")
	kube.Mark(stored, "run-1")
	recs := deployRecords(t, stored)

	fixed := stored.DeepCopy()
	_ = unstructured.SetNestedField(fixed.Object, "hotfix", "data", "k")
	_ = unstructured.SetNestedField(fixed.Object, "someone", "data", "other")
	dyn := fakeDyn(fixed)
	c := &kube.Clients{Dynamic: dyn}
	err := steps.RestoreObjects(context.Background(), &steps.Env{RunID: "run-1"}, c, recs, steps.UndoPolicy{})
	var de *steps.DriftError
	if !errors.As(err, &de) || !strings.Contains(de.Error(), "configmap/cfg in namespace shop: changed since this run wrote it") {
		t.Fatalf("err = %v, want a DriftError", err)
	}
	if w := writesOf(dyn); len(w) != 0 {
		t.Errorf("writes = %v, want none", w)
	}

	if err := steps.RestoreObjects(context.Background(), &steps.Env{RunID: "run-1", Force: true}, c, recs, steps.UndoPolicy{}); err != nil {
		t.Fatal(err)
	}
	got, err := dyn.Resource(cmGVR).Namespace("shop").Get(context.Background(), "cfg", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, _, _ := unstructured.NestedStringMap(got.Object, "data")
	if want := map[string]string{"k": "v1", "other": "someone"}; !reflect.DeepEqual(data, want) {
		t.Errorf("data after a forced undo = %v, want %v (the run's field restored, the other kept)", data, want)
	}
	if kube.MarkedBy(got) != "" {
		t.Errorf("the run's mark survived the undo: %v", got.GetAnnotations())
	}
}

// Unchanged since the run wrote it, but with a change in a field the run
// never set: the run's fields are restored and the other change is kept.
func TestUndoRestoresOnlyTheFieldsTheRunSet(t *testing.T) {
	stored := withUID(configMap("shop", "cfg", map[string]any{"k": "v2", "other": "x"}), "u1")
	kube.Mark(stored, "run-1")
	recs := deployRecords(t, stored)
	live := stored.DeepCopy()
	_ = unstructured.SetNestedField(live.Object, "by an operator", "data", "other")
	dyn := fakeDyn(live)
	if err := steps.RestoreObjects(context.Background(), &steps.Env{RunID: "run-1"}, &kube.Clients{Dynamic: dyn}, recs, steps.UndoPolicy{}); err != nil {
		t.Fatal(err)
	}
	if w := writesOf(dyn); !reflect.DeepEqual(w, []string{"patch"}) {
		t.Errorf("writes = %v, want one patch", w)
	}
	got, _ := dyn.Resource(cmGVR).Namespace("shop").Get(context.Background(), "cfg", metav1.GetOptions{})
	data, _, _ := unstructured.NestedStringMap(got.Object, "data")
	if want := map[string]string{"k": "v1", "other": "by an operator"}; !reflect.DeepEqual(data, want) {
		t.Errorf("data = %v, want %v", data, want)
	}
}

// A record naming an object the stage does not target is refused; the
// other records are still undone.
func TestUndoChecksRecordsAgainstTheStage(t *testing.T) {
	created := withUID(configMap("shop", "web-config", map[string]any{"k": "v"}), "u-web")
	kube.Mark(created, "run-1")
	other := withUID(configMap("shop", "payments", map[string]any{"k": "v"}), "u-pay")
	kube.Mark(other, "run-1") // even marked: the stage does not target it
	dyn := fakeDyn(created, other)
	recs := []json.RawMessage{snapshotJSON(t, cmRef("web-config"), nil), snapshotJSON(t, cmRef("payments"), nil)}
	c := &kube.Clients{Dynamic: dyn}
	err := steps.RestoreObjects(context.Background(), &steps.Env{RunID: "run-1"}, c, recs, steps.UndoPolicy{Target: steps.TargetIs(c, cmRef("web-config"))})
	var te *steps.TargetError
	if !errors.As(err, &te) || !strings.Contains(te.Record, "configmap/payments") {
		t.Fatalf("err = %v, want a TargetError for configmap/payments", err)
	}
	if _, err := dyn.Resource(cmGVR).Namespace("shop").Get(context.Background(), "payments", metav1.GetOptions{}); err != nil {
		t.Errorf("the refused record's object was deleted: %v", err)
	}
	if _, err := dyn.Resource(cmGVR).Namespace("shop").Get(context.Background(), "web-config", metav1.GetOptions{}); err == nil {
		t.Error("the stage's own object was not deleted")
	}
}

func TestJSONPatchFields(t *testing.T) {
	var ops []map[string]any
	_ = json.Unmarshal([]byte(`[{"op":"test","path":"/metadata/resourceVersion","value":"1"},
		{"op":"replace","path":"/spec/replicas","value":3},
		{"op":"add","path":"/spec/template/spec/containers/0/image","value":"x"},
		{"op":"add","path":"/metadata/annotations/a~1b","value":"x"},
		{"op":"move","from":"/data/old","path":"/data/new"}]`), &ops)
	got := jsonPatchFields(ops)
	want := map[string]any{
		"spec":     map[string]any{"replicas": true, "template": map[string]any{"spec": map[string]any{"containers": true}}},
		"metadata": map[string]any{"annotations": map[string]any{"a/b": true}},
		"data":     map[string]any{"old": true, "new": true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields = %v\nwant %v", got, want)
	}
}

func TestMarkedPatch(t *testing.T) {
	body, fields, err := markedPatch([]byte(`{"metadata":{"annotations":{"x":null}},"spec":{"selector":{"v":"2"}}}`), "merge", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(body, &got)
	ann := got["metadata"].(map[string]any)["annotations"].(map[string]any)
	if v, ok := ann["x"]; !ok || v != nil || ann[kube.AnnotationRun] != "run-1" {
		t.Errorf("annotations = %v, want x removed and the mark set", ann)
	}
	if _, ok := fields["metadata"].(map[string]any)["annotations"].(map[string]any)[kube.AnnotationRun]; !ok {
		t.Errorf("fields %v lack the mark", fields)
	}
	// Removing all annotations stays a removal.
	body, _, _ = markedPatch([]byte(`{"metadata":{"annotations":null}}`), "merge", "run-1")
	if string(body) != `{"metadata":{"annotations":null}}` {
		t.Errorf("body = %s", body)
	}
}
