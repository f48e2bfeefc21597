package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// What an undo needs to tell "still as this run wrote it" from "someone
// changed it since" (docs/design.md, "Undo", drift):
//
//   - Fields, kept in the undo record before a write: the shape of what the
//     step sets (the keys of a manifest or of a merge patch, and for an
//     apply those an earlier apply of cutover's owns: AppliedFields), so an undo
//     restores those fields only and leaves the others (an HPA's replicas, a
//     label a person added) as they are.
//   - Written, noted after the write: the object's UID and a digest of those
//     fields as the API server stored them, taken from the write's response.
//     At undo, a different UID means the object was deleted and re-created
//     since; a different digest means someone changed what this run set.
//   - AnnotationRun on the objects cutover creates or applies: an object
//     without this run's mark was not created by it, whatever a journal
//     record says, and is never deleted.

// Written is a fact noted after a write: which object, its UID, and a digest
// of the fields the step set, as stored. It is told apart from a kind's own
// undo records by its "wrote" key.
type Written struct {
	Wrote  Ref    `json:"wrote"`
	UID    string `json:"uid,omitempty"`
	Digest string `json:"digest"`
}

// WrittenOf decodes raw as a Written record; false when it is another
// record.
func WrittenOf(raw json.RawMessage) (Written, bool) {
	var probe struct {
		Wrote *Ref `json:"wrote"`
	}
	if json.Unmarshal(raw, &probe) != nil || probe.Wrote == nil {
		return Written{}, false
	}
	var w Written
	if json.Unmarshal(raw, &w) != nil {
		return Written{}, false
	}
	return w, true
}

// Digest is the hex sha256 of v's JSON encoding. encoding/json sorts map
// keys, so equal content has one digest whatever the map order.
func Digest(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only unencodable values (channels, funcs) fail; decoded objects
		// never hold them. Name the type so the digest still differs from
		// any real content.
		b = []byte(fmt.Sprintf("unencodable %T", v))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// FieldsOf is the shape of obj: the tree of its map keys with true at the
// leaves, where a leaf is a scalar, a list or an empty map. Keys of strategic
// merge directives ("$patch", "$setElementOrder/…") are not fields. Lists are leaves
// because the merge patch that restores them replaces them whole. The
// identity of the object (apiVersion, kind, metadata.name and namespace)
// and status, which no write sets, are left out.
func FieldsOf(obj map[string]any) map[string]any {
	out := fieldsOf(obj)
	if obj["kind"] == "Secret" && obj["apiVersion"] == "v1" {
		// stringData is write-only: the API server stores its keys under
		// data, which is what a restore must put back and a digest read.
		if sd, ok := out["stringData"].(map[string]any); ok {
			data, _ := out["data"].(map[string]any)
			out["data"] = MergeFields(data, sd)
			delete(out, "stringData")
		}
	}
	delete(out, "apiVersion")
	delete(out, "kind")
	delete(out, "status")
	if md, ok := out["metadata"].(map[string]any); ok {
		delete(md, "name")
		delete(md, "namespace")
		delete(md, "resourceVersion") // a precondition, not content
		if len(md) == 0 {
			delete(out, "metadata")
		}
	}
	return out
}

func fieldsOf(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if strings.HasPrefix(k, "$") {
			continue // a strategic merge directive, not a field
		}
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			out[k] = fieldsOf(sub)
		} else {
			out[k] = true
		}
	}
	return out
}

// MergeFields is the union of two field trees.
func MergeFields(a, b map[string]any) map[string]any {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		as, aok := out[k].(map[string]any)
		bs, bok := v.(map[string]any)
		_, had := out[k]
		switch {
		case aok && bok:
			out[k] = MergeFields(as, bs)
		case !had:
			out[k] = v
		default: // a leaf on either side covers the whole field
			out[k] = true
		}
	}
	return out
}

// Project keeps of obj only the fields in the tree, as they are in obj; a
// field obj lacks is absent from the result.
func Project(obj map[string]any, fields map[string]any) map[string]any {
	out := map[string]any{}
	for k, f := range fields {
		v, ok := obj[k]
		if !ok {
			continue
		}
		sub, isTree := f.(map[string]any)
		vm, isMap := v.(map[string]any)
		if isTree && isMap {
			out[k] = Project(vm, sub)
			continue
		}
		out[k] = v
	}
	return out
}

// FieldsDigest is the digest of obj's fields in the tree.
func FieldsDigest(obj *unstructured.Unstructured, fields map[string]any) string {
	if obj == nil {
		return Digest(nil)
	}
	return Digest(Project(obj.Object, fields))
}

// restorePatch is the JSON merge patch that takes the fields in the tree
// from live back to prev: a field prev had gets prev's value, one it lacked
// is removed (null). A leaf that is a map in prev replaces the live map
// whole (keys only live has are nulled), since a merge patch would
// otherwise merge into it.
func restorePatch(prev, live map[string]any, fields map[string]any) map[string]any {
	out := map[string]any{}
	for k, f := range fields {
		pv, had := prev[k]
		lv := live[k]
		sub, isTree := f.(map[string]any)
		pm, pIsMap := pv.(map[string]any)
		lm, lIsMap := lv.(map[string]any)
		switch {
		case isTree && (pIsMap || !had):
			// Down to the leaves the step set: a map prev lacked keeps
			// the keys others added to it since.
			if !lIsMap {
				lm = nil
			}
			p := restorePatch(pm, lm, sub)
			if len(p) > 0 {
				out[k] = p
			}
		case !had:
			out[k] = nil
		case pIsMap && lIsMap:
			out[k] = replaceMap(pm, lm)
		default:
			if !reflect.DeepEqual(pv, lv) {
				out[k] = pv
			}
		}
	}
	return out
}

// replaceMap is the merge patch turning live into exactly prev.
func replaceMap(prev, live map[string]any) map[string]any {
	out := make(map[string]any, len(prev)+len(live))
	for k := range live {
		if _, ok := prev[k]; !ok {
			out[k] = nil
		}
	}
	for k, v := range prev {
		lv, ok := live[k]
		pm, pIsMap := v.(map[string]any)
		lm, lIsMap := lv.(map[string]any)
		switch {
		case ok && pIsMap && lIsMap:
			if p := replaceMap(pm, lm); len(p) > 0 {
				out[k] = p
			}
		case !ok || !reflect.DeepEqual(v, lv):
			out[k] = v
		}
	}
	return out
}

// MarkedBy returns the run id of obj's AnnotationRun ("" when unmarked).
func MarkedBy(obj *unstructured.Unstructured) string {
	if obj == nil {
		return ""
	}
	return obj.GetAnnotations()[AnnotationRun]
}

// Mark sets AnnotationRun on obj to run; an empty run (a command without a
// run, such as plan) leaves obj as it is.
func Mark(obj *unstructured.Unstructured, run string) {
	if run == "" {
		return
	}
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationRun] = run
	obj.SetAnnotations(ann)
}

// SameTarget reports whether two refs name the same object: same API group
// and kind, namespace and name. The version may differ (a manifest written
// against another served version names the same object).
func SameTarget(a, b Ref) bool {
	ga := schema.FromAPIVersionAndKind(a.APIVersion, a.Kind).GroupKind()
	gb := schema.FromAPIVersionAndKind(b.APIVersion, b.Kind).GroupKind()
	return ga == gb && a.Namespace == b.Namespace && a.Name == b.Name
}
