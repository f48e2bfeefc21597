package dataplane

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// virtualServiceRules turns Istio VirtualServices into ordered rules: each
// http route, in order, one rule per match (none: everything), sending to
// its destinations by weight (a single destination takes all). A
// destination host names a Service (name, name.namespace or the full
// cluster name; relative to the VirtualService's namespace); a subset is
// the labels the DestinationRule of that host gives it (unknown: no pods).
// Gateways are not read: the router plays the mesh and every gateway.
func virtualServiceRules(vss, drs []*unstructured.Unstructured) []*rule {
	subsets := map[serviceKey]map[string]map[string]string{}
	for _, dr := range drs {
		k, ok := hostService(str(dr.Object, "spec", "host"), dr.GetNamespace())
		if !ok {
			continue
		}
		for _, s := range objs(dr.Object, "spec", "subsets") {
			if subsets[k] == nil {
				subsets[k] = map[string]map[string]string{}
			}
			labels := map[string]string{}
			lm, _ := field(s, "labels").(map[string]any)
			for lk, lv := range lm {
				labels[lk], _ = lv.(string)
			}
			subsets[k][str(s, "name")] = labels
		}
	}
	var out []*rule
	for _, vs := range vss {
		ns := vs.GetNamespace()
		var hosts []string
		for _, h := range strs(vs.Object, "spec", "hosts") {
			hosts = append(hosts, hostNames(strings.ToLower(h), ns)...)
		}
		for _, hr := range objs(vs.Object, "spec", "http") {
			var dests []dest
			var weights []int
			routes := objs(hr, "route")
			for _, rt := range routes {
				k, ok := hostService(str(rt, "destination", "host"), ns)
				if !ok {
					continue
				}
				d := dest{svc: k, port: int32(num(rt, 0, "destination", "port", "number"))}
				if sub := str(rt, "destination", "subset"); sub != "" {
					d.subset = subsets[k][sub]
					if d.subset == nil {
						d.subset = map[string]string{"cutover.test/unknown-subset": sub}
					}
				}
				w := int(num(rt, 0, "weight"))
				if len(routes) == 1 {
					w = 100
				}
				dests = append(dests, d)
				weights = append(weights, w)
			}
			matches := objs(hr, "match")
			if len(matches) == 0 {
				matches = []map[string]any{{}}
			}
			for _, m := range matches {
				r := &rule{from: "VirtualService " + ns + "/" + vs.GetName(), hosts: hosts, dests: dests, weights: weights,
					path: stringMatch{kind: matchPrefix, value: "/"}}
				if uri, ok := m["uri"].(map[string]any); ok {
					r.path = istioMatch(uri)
				}
				if hs, ok := m["headers"].(map[string]any); ok {
					for name, v := range hs {
						if vm, ok := v.(map[string]any); ok {
							r.headers = append(r.headers, headerMatch{name: name, stringMatch: istioMatch(vm)})
						}
					}
				}
				out = append(out, r)
			}
		}
	}
	return out
}

func istioMatch(m map[string]any) stringMatch {
	switch {
	case str(m, "exact") != "":
		return stringMatch{kind: matchExact, value: str(m, "exact")}
	case str(m, "prefix") != "":
		return stringMatch{kind: matchPrefix, value: str(m, "prefix")}
	case str(m, "regex") != "":
		return stringMatch{kind: matchRegex, value: str(m, "regex"), re: compile("^(?:" + str(m, "regex") + ")$")}
	}
	return stringMatch{kind: matchPrefix}
}

// hostService reads an Istio destination host as a Service.
func hostService(host, ns string) (serviceKey, bool) {
	parts := strings.Split(strings.TrimSuffix(strings.ToLower(host), "."), ".")
	switch {
	case host == "":
		return serviceKey{}, false
	case len(parts) == 1:
		return serviceKey{ns, parts[0]}, true
	case len(parts) == 2 || (len(parts) >= 3 && parts[2] == "svc"):
		return serviceKey{parts[1], parts[0]}, true
	}
	return serviceKey{}, false
}

// hostNames are the Host headers a VirtualService host answers to: a short
// name also as name.namespace, name.namespace.svc and the full name.
func hostNames(h, ns string) []string {
	if h == "*" || strings.Contains(h, ".") {
		return []string{h}
	}
	return []string{h, h + "." + ns, h + "." + ns + ".svc", h + "." + ns + ".svc.cluster.local"}
}
