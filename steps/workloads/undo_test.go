package workloads

import (
	"context"
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func configMap(ns, name string, data map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"data":     data,
	}}
	return u
}

var (
	cmGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	nsGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

func withUID(u *unstructured.Unstructured, uid string) *unstructured.Unstructured {
	u.SetUID(types.UID(uid))
	return u
}

func cmRef(name string) kube.Ref {
	return kube.Ref{APIVersion: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: "shop", Name: name}
}

func snapshotJSON(t *testing.T, r kube.Ref, live *unstructured.Unstructured) json.RawMessage {
	t.Helper()
	s, err := kube.SnapshotOf(r, live)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Records from two attempts: the undo must bring back the state from before
// the first one, deleting what did not exist and acting newest first.
func TestRestoreAllUsesStateBeforeFirstAttempt(t *testing.T) {
	scheme := runtime.NewScheme()
	// Current state, after two attempts of a deploy: namespace "shop" and
	// configmap "new" were created by attempt 1 and changed by attempt 2,
	// configmap "old" existed with x=1 and now has x=2.
	// What the run created carries its mark.
	shop := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": "shop"}}}
	kube.Mark(shop, "run-1")
	created := configMap("shop", "new", map[string]any{"v": "attempt-2"})
	kube.Mark(created, "run-1")
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
		map[schema.GroupVersionResource]string{cmGVR: "ConfigMapList", nsGVR: "NamespaceList"},
		shop, created,
		withUID(configMap("shop", "old", map[string]any{"x": "2", "added": "by cutover"}), "uid-old"))
	nsRef := kube.Ref{APIVersion: "v1", Kind: "Namespace", Resource: "namespaces", Name: "shop"}

	withMeta := func(u *unstructured.Unstructured) *unstructured.Unstructured {
		u.SetResourceVersion("41")
		u.SetUID("uid-old")
		u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl"}})
		return u
	}
	records := []json.RawMessage{
		// attempt 1
		snapshotJSON(t, nsRef, nil),
		snapshotJSON(t, cmRef("new"), nil),
		snapshotJSON(t, cmRef("old"), withMeta(configMap("shop", "old", map[string]any{"x": "1"}))),
		// attempt 2 saw what attempt 1 wrote
		snapshotJSON(t, nsRef, shop),
		snapshotJSON(t, cmRef("new"), configMap("shop", "new", map[string]any{"v": "attempt-1"})),
		snapshotJSON(t, cmRef("old"), configMap("shop", "old", map[string]any{"x": "2"})),
	}
	c := &kube.Clients{Dynamic: dyn}
	var reports []string
	env := &steps.Env{RunID: "run-1", Progress: func(m string) { reports = append(reports, m) }}
	if err := steps.RestoreObjects(context.Background(), env, c, records, steps.UndoPolicy{}); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	if _, err := dyn.Resource(cmGVR).Namespace("shop").Get(ctx, "new", metav1.GetOptions{}); err == nil {
		t.Error(`configmap "new" did not exist before and still exists`)
	}
	if _, err := dyn.Resource(nsGVR).Get(ctx, "shop", metav1.GetOptions{}); err == nil {
		t.Error(`namespace "shop" did not exist before and still exists`)
	}
	old, err := dyn.Resource(cmGVR).Namespace("shop").Get(ctx, "old", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, _, _ := unstructured.NestedStringMap(old.Object, "data")
	if len(data) != 1 || data["x"] != "1" {
		t.Errorf(`configmap "old" data = %v, want exactly {x: 1} (a full replacement drops what cutover added)`, data)
	}
	if old.GetUID() == "uid-old" || len(old.GetManagedFields()) > 0 {
		t.Error("server-owned metadata from the record was written back")
	}

	// Newest first: "old" (recorded last) is restored before "new" is
	// deleted, and the namespace, recorded first, goes last. Each object is
	// written once, not once per attempt.
	var writes []string
	for _, a := range dyn.Actions() {
		switch a := a.(type) {
		case clienttesting.UpdateAction:
			writes = append(writes, "update "+a.GetObject().(*unstructured.Unstructured).GetName())
		case clienttesting.DeleteAction:
			writes = append(writes, "delete "+a.GetName())
		}
	}
	want := []string{"update old", "delete new", "delete shop"}
	if len(writes) != len(want) {
		t.Fatalf("writes = %v, want %v", writes, want)
	}
	for i := range want {
		if writes[i] != want[i] {
			t.Fatalf("writes = %v, want %v", writes, want)
		}
	}
	if len(reports) != 3 {
		t.Errorf("reports = %q, want one per object", reports)
	}
}

// An object the stage deleted gets re-created from the record, with the
// run's mark.
func TestRestoreRecreatesDeletedObject(t *testing.T) {
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{cmGVR: "ConfigMapList"})
	prev := configMap("shop", "cfg", map[string]any{"k": "v"})
	prev.SetUID("gone")
	prev.SetResourceVersion("7")
	c := &kube.Clients{Dynamic: dyn}
	if err := steps.RestoreObjects(context.Background(), &steps.Env{RunID: "run-1"}, c, []json.RawMessage{snapshotJSON(t, cmRef("cfg"), prev)}, steps.UndoPolicy{Deleted: true}); err != nil {
		t.Fatal(err)
	}
	got, err := dyn.Resource(cmGVR).Namespace("shop").Get(context.Background(), "cfg", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("not re-created: %v", err)
	}
	if v, _, _ := unstructured.NestedString(got.Object, "data", "k"); v != "v" {
		t.Errorf("data.k = %q", v)
	}
	if got.GetResourceVersion() == "7" || got.GetUID() == "gone" {
		t.Error("re-created with the old resourceVersion or uid")
	}
	if kube.MarkedBy(got) != "run-1" {
		t.Errorf("re-created without the run's mark: %v", got.GetAnnotations())
	}
}

// An object still as recorded (the write the record protected was refused)
// is not written: the undo needs no permission the stage lacked.
func TestRestoreLeavesAnUnchangedObjectAlone(t *testing.T) {
	live := configMap("shop", "cfg", map[string]any{"k": "v"})
	live.SetResourceVersion("7")
	live.SetUID("u1")
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{cmGVR: "ConfigMapList"}, live)
	c := &kube.Clients{Dynamic: dyn}
	if err := steps.RestoreObjects(context.Background(), &steps.Env{}, c, []json.RawMessage{snapshotJSON(t, cmRef("cfg"), live)}, steps.UndoPolicy{}); err != nil {
		t.Fatal(err)
	}
	for _, a := range dyn.Actions() {
		if a.GetVerb() != "get" {
			t.Errorf("undo of an unchanged object did %s", a.GetVerb())
		}
	}
}

func TestDecodeSnapshotsRejectsGarbage(t *testing.T) {
	if err := steps.RestoreObjects(context.Background(), &steps.Env{}, &kube.Clients{}, []json.RawMessage{json.RawMessage(`"nope"`)}, steps.UndoPolicy{}); err == nil {
		t.Error("want an error for a record that is not a snapshot")
	}
}
