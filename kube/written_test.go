package kube

import (
	"encoding/json"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFieldsOfLeavesOutIdentityAndDirectives(t *testing.T) {
	got := FieldsOf(decode(t, `{"apiVersion":"apps/v1","kind":"Deployment",
		"metadata":{"name":"web","namespace":"shop","labels":{"app":"web"},"annotations":{}},
		"spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"app"}]}},"$setElementOrder/containers":[]},
		"status":{"replicas":1}}`))
	want := decode(t, `{"metadata":{"labels":{"app":true},"annotations":true},
		"spec":{"replicas":true,"template":{"spec":{"containers":true}}}}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FieldsOf = %v\nwant %v", got, want)
	}
}

// The digest covers only the fields the step set: a field it never set (an
// HPA's replicas, someone's label) may change without it changing.
func TestFieldsDigestIgnoresFieldsTheStepDidNotSet(t *testing.T) {
	fields := FieldsOf(decode(t, `{"metadata":{"labels":{"app":"web"}},"spec":{"template":{"image":"a:2"}}}`))
	stored := &unstructured.Unstructured{Object: decode(t, `{"metadata":{"labels":{"app":"web"},"uid":"u1"},
		"spec":{"replicas":2,"template":{"image":"a:2","defaulted":true}}}`)}
	d := FieldsDigest(stored, fields)

	other := stored.DeepCopy()
	_ = unstructured.SetNestedField(other.Object, int64(7), "spec", "replicas")
	_ = unstructured.SetNestedField(other.Object, "x", "metadata", "labels", "team")
	if FieldsDigest(other, fields) != d {
		t.Error("a change to fields the step did not set changed the digest")
	}
	mine := stored.DeepCopy()
	_ = unstructured.SetNestedField(mine.Object, "a:3", "spec", "template", "image")
	if FieldsDigest(mine, fields) == d {
		t.Error("a change to a field the step set left the digest as it was")
	}
	if Digest(map[string]any{"a": 1, "b": 2}) != Digest(map[string]any{"b": 2, "a": 1}) {
		t.Error("the digest depends on map order")
	}
}

func TestRestorePatchTouchesOnlyTheStepsFields(t *testing.T) {
	prev := decode(t, `{"metadata":{"labels":{"app":"web"}},"spec":{"replicas":2,"image":"a:1"},"data":{"k":"v"}}`)
	live := decode(t, `{"metadata":{"labels":{"app":"web","tier":"x"},"annotations":{"cutover.dev/run":"r1","hpa":"y"}},
		"spec":{"replicas":9,"image":"a:2","added":true},"data":{"k":"v","extra":"1"}}`)
	// The step set the image, a spec field that did not exist, the tier
	// label, its mark, and data as a whole (an empty map in the manifest).
	fields := decode(t, `{"metadata":{"labels":{"tier":true},"annotations":{"cutover.dev/run":true}},
		"spec":{"image":true,"added":true},"data":true}`)
	got := restorePatch(prev, live, fields)
	want := decode(t, `{"metadata":{"labels":{"tier":null},"annotations":{"cutover.dev/run":null}},
		"spec":{"image":"a:1","added":null},"data":{"extra":null}}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("restorePatch = %v\nwant %v", got, want)
	}
}

func TestMergeFields(t *testing.T) {
	a := decode(t, `{"spec":{"a":true,"b":{"c":true}}}`)
	b := decode(t, `{"spec":{"b":true,"d":true},"data":true}`)
	want := decode(t, `{"spec":{"a":true,"b":true,"d":true},"data":true}`)
	if got := MergeFields(a, b); !reflect.DeepEqual(got, want) {
		t.Errorf("MergeFields = %v, want %v", got, want)
	}
}

func TestWrittenOfTellsRecordsApart(t *testing.T) {
	w := Written{Wrote: Ref{APIVersion: "v1", Kind: "Service", Resource: "services", Namespace: "shop", Name: "web"}, UID: "u", Digest: "d"}
	raw, _ := json.Marshal(w)
	got, ok := WrittenOf(raw)
	if !ok || got != w {
		t.Errorf("WrittenOf(%s) = %+v, %v", raw, got, ok)
	}
	snap, _ := json.Marshal(Snapshot{Ref: w.Wrote, Existed: true, UID: "u"})
	if _, ok := WrittenOf(snap); ok {
		t.Error("a snapshot was taken for a Written record")
	}
	if _, ok := WrittenOf(json.RawMessage(`{"namespace":"shop","services":[]}`)); ok {
		t.Error("a selector record was taken for a Written record")
	}
}

// A Secret's stringData is stored under data: that is what a restore puts
// back and a digest reads.
func TestFieldsOfSecretStringData(t *testing.T) {
	got := FieldsOf(map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "db"},
		"stringData": map[string]any{"password": "x"}, "data": map[string]any{"user": "eA=="}})
	want := map[string]any{"data": map[string]any{"password": true, "user": true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FieldsOf = %v, want %v", got, want)
	}
}
