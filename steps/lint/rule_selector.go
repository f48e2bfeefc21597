package lint

import (
	"fmt"
	"sort"
	"strings"
)

// checkSelectors: in blue/green the Service must pick one colour. A
// selector such as app=web that both web-blue and web-green carry sends
// traffic to both versions at once, so the switch switches nothing. (A
// replica-ratio canary does this on purpose; ignore the rule there.)
func checkSelectors(s *set) []Finding {
	var out []Finding
	for _, svc := range s.objs {
		if svc.kind != "Service" {
			continue
		}
		ws := s.selected(svc)
		if len(ws) < 2 {
			continue
		}
		names := make([]string, len(ws))
		for i, w := range ws {
			names[i] = w.id()
		}
		sel := stringMap(path(svc.node, "spec", "selector"))
		out = append(out, svc.at(keyOf(svc.node, "spec", "selector"), "selector-matches-many", SevError,
			fmt.Sprintf("the selector of %s (%s) matches the pods of %d workloads: %s; it sends traffic to all of them at once", svc.where(), labels(sel), len(ws), strings.Join(names, ", ")),
			"add the label that tells them apart (e.g. version or colour) to the selector; switch_selector then moves traffic from one to the other"))
	}
	return out
}

func labels(m map[string]string) string {
	kv := make([]string, 0, len(m))
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}
