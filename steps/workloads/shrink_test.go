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
