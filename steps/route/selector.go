package route

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cutoverhq/cutover/steps"
)

// labelChange is what a step does to a label map: keys in set take the
// given value (added or replaced), keys in del are removed.
type labelChange struct {
	set map[string]string
	del []string
}

// selectorChange reads a selector where a null value means "remove this
// key" (JSON merge-patch semantics). An empty string is a valid label value
// in Kubernetes, so "" is kept as a value, not a removal.
func selectorChange(sel map[string]*string) labelChange {
	ch := labelChange{set: map[string]string{}}
	for k, v := range sel {
		if v == nil {
			ch.del = append(ch.del, k)
			continue
		}
		ch.set[k] = *v
	}
	sort.Strings(ch.del)
	return ch
}

// apply returns a copy of old with the change applied; old is not modified.
func (ch labelChange) apply(old map[string]string) map[string]string {
	out := make(map[string]string, len(old)+len(ch.set))
	for k, v := range old {
		out[k] = v
	}
	for _, k := range ch.del {
		delete(out, k)
	}
	for k, v := range ch.set {
		out[k] = v
	}
	return out
}

// patch is the merge-patch body of the change: values to set, null for keys
// to remove.
func (ch labelChange) patch() map[string]any {
	out := make(map[string]any, len(ch.set)+len(ch.del))
	for _, k := range ch.del {
		out[k] = nil
	}
	for k, v := range ch.set {
		out[k] = v
	}
	return out
}

// keys lists every key the change touches, sorted.
func (ch labelChange) keys() []string {
	ks := append([]string{}, ch.del...)
	for k := range ch.set {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// checkLabels validates label keys and values of a change, naming the
// attribute they came from.
func checkLabels(attr string, ch labelChange) []steps.Problem {
	var out []steps.Problem
	for _, k := range ch.keys() {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			out = append(out, steps.Problem{Path: []string{attr}, Summary: "Invalid label key",
				Detail: fmt.Sprintf("%q is not a valid label key: %s", k, strings.Join(errs, "; "))})
		}
	}
	for k, v := range ch.set {
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			out = append(out, steps.Problem{Path: []string{attr}, Summary: "Invalid label value",
				Detail: fmt.Sprintf("%q is not a valid value for label %q: %s", v, k, strings.Join(errs, "; "))})
		}
	}
	return out
}

// formatLabels prints a label map the way kubectl prints selectors,
// sorted: "app=web,version=v2".
func formatLabels(m map[string]string) string {
	if len(m) == 0 {
		return "(none)"
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}
