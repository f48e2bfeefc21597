package workloads

import (
	"encoding/json"

	"github.com/cutoverhq/cutover/kube"
)

// UndoShrinks implements steps.Shrinker: undoing a deploy that created an
// object deletes it, and undoing one that changed a workload puts its old
// template (and replica count) back, replacing the pods the run started:
// either takes away what may be serving traffic until the routing stages
// are undone (docs/design.md, "Undo"). A canary track that existed before
// the run is restored, not deleted, and its pods go all the same.
func (deployKind) UndoShrinks(records []json.RawMessage) bool {
	for _, raw := range records {
		if _, ok := kube.WrittenOf(raw); ok {
			continue
		}
		var s kube.Snapshot
		if json.Unmarshal(raw, &s) == nil && s.Name != "" && (!s.Existed || replacesPods(s)) {
			return true
		}
	}
	return false
}

// replacesPods says whether restoring s's object replaces pods: a
// workload's template does, unless the object it restores updates OnDelete
// (a DaemonSet canary's pods are put back by update_nodes' undo, which must
// come after the template's).
func replacesPods(s kube.Snapshot) bool {
	switch s.Kind {
	case "Deployment", "ReplicaSet", "ReplicationController", "Pod":
		return true
	case "StatefulSet", "DaemonSet":
		var o struct {
			Spec struct {
				UpdateStrategy struct {
					Type string `json:"type"`
				} `json:"updateStrategy"`
			} `json:"spec"`
		}
		return json.Unmarshal(s.Object, &o) == nil && o.Spec.UpdateStrategy.Type != "OnDelete"
	}
	return false
}

// UndoShrinks implements steps.Shrinker: undoing a scale-up scales back
// down. (Undoing a scale-down adds capacity and keeps its place, ahead of
// the routing that sends traffic back to it.)
func (scaleKind) UndoShrinks(records []json.RawMessage) bool {
	for _, raw := range records {
		if _, ok := kube.WrittenOf(raw); ok {
			continue
		}
		var r scaleRecord
		if json.Unmarshal(raw, &r) == nil && r.Want != nil && *r.Want > r.Replicas {
			return true
		}
	}
	return false
}
