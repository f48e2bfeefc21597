package kube

import (
	"encoding/json"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// AppliedFields is the tree (as FieldsOf) of the fields obj's managedFields
// say manager owns through server-side apply. An apply by that manager
// that leaves one of them out removes it from the object, so the fields a
// write changes are its manifest's and these: an undo that restored only
// the manifest's would leave those removed (a nodeSelector label the
// previous release set, gone with the new one's). Lists are leaves, as in
// FieldsOf; nil when the manager owns nothing.
func AppliedFields(obj *unstructured.Unstructured, manager string) map[string]any {
	if obj == nil {
		return nil
	}
	var out map[string]any
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != manager || mf.Operation != metav1.ManagedFieldsOperationApply || mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		var set map[string]any
		if json.Unmarshal(mf.FieldsV1.Raw, &set) != nil {
			continue
		}
		out = MergeFields(out, fieldsV1Tree(set))
	}
	delete(out, "status")
	return out
}

// fieldsV1Tree turns a FieldsV1 set ({"f:spec": {"f:replicas": {}}}) into a
// field tree: a field whose members are fields is a map; one whose members
// are list items (k:, v:, i:) or that has none is a leaf.
func fieldsV1Tree(set map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range set {
		name, ok := strings.CutPrefix(k, "f:")
		if !ok {
			continue
		}
		sub, _ := v.(map[string]any)
		if t := fieldsV1Tree(sub); len(t) > 0 && !itemsOfList(sub) {
			out[name] = t
		} else {
			out[name] = true
		}
	}
	return out
}

func itemsOfList(set map[string]any) bool {
	for k := range set {
		if strings.HasPrefix(k, "k:") || strings.HasPrefix(k, "v:") || strings.HasPrefix(k, "i:") {
			return true
		}
	}
	return false
}
