package workloads

import (
	"encoding/json"

	"github.com/cutoverhq/cutover/kube"
)

// UndoShrinks implements steps.Shrinker: undoing a deploy that created an
// object deletes it, which takes away what may be serving traffic until the
// routing stages are undone (docs/design.md, "Undo").
func (deployKind) UndoShrinks(records []json.RawMessage) bool {
	for _, raw := range records {
		if _, ok := kube.WrittenOf(raw); ok {
			continue
		}
		var s kube.Snapshot
		if json.Unmarshal(raw, &s) == nil && s.Name != "" && !s.Existed {
			return true
		}
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
