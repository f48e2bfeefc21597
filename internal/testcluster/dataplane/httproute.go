package dataplane

import (
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// httpRouteRules turns Gateway API HTTPRoutes into rules: each match of each
// rule (a rule without matches: path prefix /) sends to its Service
// backendRefs by weight (default 1). parentRefs are not read: the router
// plays every Gateway.
func httpRouteRules(routes []*unstructured.Unstructured) []*rule {
	var out []*rule
	for _, u := range routes {
		ns := u.GetNamespace()
		var hosts []string
		for _, h := range strs(u.Object, "spec", "hostnames") {
			hosts = append(hosts, strings.ToLower(h))
		}
		for _, ru := range objs(u.Object, "spec", "rules") {
			var dests []dest
			var weights []int
			for _, ref := range objs(ru, "backendRefs") {
				if k := str(ref, "kind"); k != "" && k != "Service" {
					continue
				}
				d := dest{svc: serviceKey{ns, str(ref, "name")}, port: int32(num(ref, 0, "port"))}
				if n := str(ref, "namespace"); n != "" {
					d.svc.Namespace = n
				}
				dests = append(dests, d)
				weights = append(weights, int(num(ref, 1, "weight")))
			}
			matches := objs(ru, "matches")
			if len(matches) == 0 {
				matches = []map[string]any{{}}
			}
			for _, m := range matches {
				r := &rule{from: "HTTPRoute " + ns + "/" + u.GetName(), hosts: hosts, dests: dests, weights: weights,
					path: stringMatch{kind: matchSegments, value: "/"}}
				if p, ok := m["path"].(map[string]any); ok {
					r.path = pathOf(str(p, "type"), str(p, "value"), "PathPrefix")
				}
				for _, h := range objs(m, "headers") {
					hm := headerMatch{name: str(h, "name"), stringMatch: stringMatch{kind: matchExact, value: str(h, "value")}}
					if str(h, "type") == "RegularExpression" {
						hm.kind, hm.re = matchRegex, compile(hm.value)
					}
					r.headers = append(r.headers, hm)
				}
				out = append(out, r)
			}
		}
	}
	return out
}

func pathOf(typ, value, dflt string) stringMatch {
	if value == "" {
		value = "/"
	}
	if typ == "" {
		typ = dflt
	}
	switch typ {
	case "Exact":
		return stringMatch{kind: matchExact, value: value}
	case "RegularExpression":
		return stringMatch{kind: matchRegex, value: value, re: compile("^(?:" + value + ")$")}
	}
	return stringMatch{kind: matchSegments, value: value}
}

// compile returns nil for an invalid expression: it matches nothing.
func compile(expr string) *regexp.Regexp {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil
	}
	return re
}

// Accessors of unstructured content that tolerate missing or mistyped fields.

func field(o map[string]any, path ...string) any {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func str(o map[string]any, path ...string) string {
	s, _ := field(o, path...).(string)
	return s
}

func num(o map[string]any, dflt int64, path ...string) int64 {
	switch v := field(o, path...).(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	case int:
		return int64(v)
	}
	return dflt
}

func objs(o map[string]any, path ...string) []map[string]any {
	l, _ := field(o, path...).([]any)
	var out []map[string]any
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func strs(o map[string]any, path ...string) []string {
	l, _ := field(o, path...).([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
