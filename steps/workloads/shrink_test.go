package workloads

import (
	"encoding/json"
	"testing"

	"github.com/cutoverhq/cutover/kube"
)

func TestUndoShrinks(t *testing.T) {
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ref := kube.Ref{APIVersion: "apps/v1", Kind: "Deployment", Resource: "deployments", Namespace: "ns", Name: "green"}
	created := raw(kube.Snapshot{Ref: ref})
	updated := raw(kube.Snapshot{Ref: ref, Existed: true, Object: json.RawMessage(`{}`)})
	svc := kube.Ref{APIVersion: "v1", Kind: "Service", Resource: "services", Namespace: "ns", Name: "green"}
	updatedSvc := raw(kube.Snapshot{Ref: svc, Existed: true, Object: json.RawMessage(`{}`)})
	note := raw(kube.Written{Wrote: ref, UID: "u"})
	if !(deployKind{}).UndoShrinks([]json.RawMessage{updated, created, note}) {
		t.Error("a deploy that created an object: its undo deletes it")
	}
	if !(deployKind{}).UndoShrinks([]json.RawMessage{updated, note}) {
		t.Error("a deploy that updated a workload (a canary track that existed): its undo replaces the pods it started")
	}
	ds := kube.Ref{APIVersion: "apps/v1", Kind: "DaemonSet", Resource: "daemonsets", Namespace: "ns", Name: "agent"}
	onDelete := raw(kube.Snapshot{Ref: ds, Existed: true, Object: json.RawMessage(`{"spec":{"updateStrategy":{"type":"OnDelete"}}}`)})
	if (deployKind{}).UndoShrinks([]json.RawMessage{onDelete, note}) {
		t.Error("an OnDelete DaemonSet's template restored replaces no pod (update_nodes' undo does, after it)")
	}
	if (deployKind{}).UndoShrinks([]json.RawMessage{updatedSvc, note}) {
		t.Error("a deploy that only updated a Service: its undo removes nothing")
	}
	up, down := int64(3), int64(0)
	if !(scaleKind{}).UndoShrinks([]json.RawMessage{raw(scaleRecord{Ref: ref, Replicas: 1, Want: &up})}) {
		t.Error("undoing a scale-up scales down")
	}
	if (scaleKind{}).UndoShrinks([]json.RawMessage{raw(scaleRecord{Ref: ref, Replicas: 2, Want: &down})}) {
		t.Error("undoing a scale-down adds capacity")
	}
}

func TestUndoReleases(t *testing.T) {
	ref := kube.Ref{APIVersion: "apps/v1", Kind: "Deployment", Resource: "deployments", Namespace: "ns", Name: "web"}
	hold := map[string]any{"spec": map[string]any{"paused": true}, "metadata": map[string]any{"annotations": map[string]any{kube.AnnotationRun: true}}}
	snap := func(obj string, fields map[string]any) json.RawMessage {
		return rawJSON(t, kube.Snapshot{Ref: ref, Existed: true, Object: json.RawMessage(obj), Fields: fields})
	}
	running := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":3}}`
	paused := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"paused":true}}`
	note := rawJSON(t, kube.Written{Wrote: ref, UID: "u"})
	if !(patchKind{}).UndoReleases([]json.RawMessage{snap(running, hold), note}) {
		t.Error("pausing a running Deployment: the undo resumes it")
	}
	if !(patchKind{}).UndoReleases([]json.RawMessage{snap(running, hold), snap(paused, hold), note}) {
		t.Error("a retried pause: the state before the first attempt is what the undo restores")
	}
	if (patchKind{}).UndoReleases([]json.RawMessage{snap(paused, hold), note}) {
		t.Error("resuming a paused Deployment: the undo pauses it again, in its place")
	}
	if (patchKind{}).UndoReleases([]json.RawMessage{snap(running, map[string]any{"spec": map[string]any{"replicas": true}}), note}) {
		t.Error("a patch of replicas holds nothing back")
	}
}
