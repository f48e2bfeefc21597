package kube

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// A hold is spec.paused set on an object (kubectl rollout pause): its
// controller leaves the object's pods alone until it is lifted. Undoing a
// hold lets the controller act on whatever spec the object has then, so an
// undo lifts it only once the rest of the object is restored
// (docs/design.md, "Undo").

// Holds says whether fields (what a write set, FieldsOf) include
// spec.paused.
func Holds(fields map[string]any) bool {
	spec, _ := fields["spec"].(map[string]any)
	_, ok := spec["paused"]
	return ok
}

// HoldOnly says whether fields are spec.paused and nothing else but the
// run's mark: restoring them writes no content, only lifts the hold.
func HoldOnly(fields map[string]any) bool {
	for k, v := range fields {
		switch k {
		case "spec":
			spec, _ := v.(map[string]any)
			if _, ok := spec["paused"]; !ok || len(spec) != 1 {
				return false
			}
		case "metadata":
			md, _ := v.(map[string]any)
			ann, _ := md["annotations"].(map[string]any)
			if _, ok := ann[AnnotationRun]; !ok || len(ann) != 1 || len(md) != 1 {
				return false
			}
		default:
			return false
		}
	}
	return Holds(fields)
}

// Paused says whether obj holds its controller back (spec.paused).
func Paused(obj *unstructured.Unstructured) bool {
	if obj == nil {
		return false
	}
	p, _, _ := unstructured.NestedBool(obj.Object, "spec", "paused")
	return p
}
