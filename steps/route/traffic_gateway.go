package route

import (
	"fmt"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// routerGateway is the router's name.
const routerGateway = "gateway-api"

func init() {
	RegisterRouter(rulesRouter{
		name: routerGateway, object: "route", attrs: steps.SpecFor[gatewayAttrs](),
		docs: withSplit(map[string]string{"route": "the HTTPRoute."}),
		check: func(cfg cty.Value) []steps.Problem {
			return append(noCookie(routerGateway, cfg), exactHeader(routerGateway, cfg)...)
		},
		perm: rule("gateway.networking.k8s.io", "httproutes",
			"rewrite the HTTPRoute's weights; undo patches the recorded rules back", "get", "update", "patch"),
		resource: "httproutes.gateway.networking.k8s.io", kind: "httproute", field: "rules",
		crd: "the Gateway API CRDs (gateway.networking.k8s.io)",
		rewrite: func(s Traffic, rules []any) ([]any, error) {
			var a gatewayAttrs
			if _, err := steps.Decode(s.Config, &a); err != nil {
				return nil, err
			}
			return rewriteHTTPRoute(rules, a.Stable, a.Canary, s.Weight, s.Header)
		},
	})
}

// gatewayAttrs are the router's own attributes: the HTTPRoute and the
// Services.
type gatewayAttrs struct {
	Route string `hcl:"route,required"`
	split
}

// rewriteHTTPRoute sets the canary split of an HTTPRoute's rules (Gateway API
// v1). Every rule with a backendRef to the stable or the canary Service gets
// both, weighted 100-weight and weight (the missing one is added as a copy
// of the other, same port). With a header, each such rule is preceded by a
// copy that matches the header too and sends to the canary only; the Gateway
// API ranks a match with more header conditions above the same match
// without, so the copy wins for requests that carry the header.
//
// Rules that send only to the canary and match a header are taken as header
// rules of an earlier traffic step and removed first, so each step states
// the whole split. rules is not modified.
func rewriteHTTPRoute(rules []any, stable, canary string, weight int64, h *Header) ([]any, error) {
	var out []any
	matched := 0
	for _, r := range rules {
		rule := obj(r)
		if rule == nil || isGatewayHeaderRule(rule, canary) {
			if rule == nil {
				out = append(out, r)
			}
			continue
		}
		refs := list(rule["backendRefs"])
		si, ci := -1, -1
		for i, x := range refs {
			ref := obj(x)
			if ref == nil || !isServiceRef(ref) {
				continue
			}
			switch str(ref["name"]) {
			case stable:
				si = i
			case canary:
				ci = i
			}
		}
		if si < 0 && ci < 0 {
			out = append(out, rule)
			continue
		}
		matched++
		rule = deepCopy(rule)
		refs = list(rule["backendRefs"])
		if ci < 0 {
			c := deepCopy(obj(refs[si]))
			c["name"] = canary
			refs, ci = append(refs, c), len(refs)
		}
		if si < 0 {
			c := deepCopy(obj(refs[ci]))
			c["name"] = stable
			refs, si = append(refs, c), len(refs)
		}
		obj(refs[si])["weight"] = 100 - weight
		obj(refs[ci])["weight"] = weight
		rule["backendRefs"] = refs
		if h != nil {
			out = append(out, gatewayHeaderRule(rule, obj(refs[ci]), h))
		}
		out = append(out, rule)
	}
	if matched == 0 {
		return nil, fmt.Errorf("no rule has a backendRef to service %q or %q (%s)", stable, canary, describeGatewayRules(rules))
	}
	return out, nil
}

func isServiceRef(ref map[string]any) bool {
	k := str(ref["kind"])
	return str(ref["group"]) == "" && (k == "" || k == "Service")
}

// isGatewayHeaderRule recognises the rule gatewayHeaderRule writes.
func isGatewayHeaderRule(rule map[string]any, canary string) bool {
	refs, matches := list(rule["backendRefs"]), list(rule["matches"])
	if len(refs) == 0 || len(matches) == 0 {
		return false
	}
	for _, x := range refs {
		ref := obj(x)
		if ref == nil || !isServiceRef(ref) || str(ref["name"]) != canary {
			return false
		}
	}
	for _, m := range matches {
		if len(list(obj(m)["headers"])) == 0 {
			return false
		}
	}
	return true
}

// gatewayHeaderRule is a copy of rule that also requires the header and
// sends to the canary only.
func gatewayHeaderRule(rule, canaryRef map[string]any, h *Header) map[string]any {
	c := deepCopy(rule)
	delete(c, "name") // rule names must be unique within a route
	matches := list(c["matches"])
	if len(matches) == 0 {
		matches = []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}}
	}
	for i, m := range matches {
		mm := obj(m)
		var hs []any
		for _, x := range list(mm["headers"]) {
			if str(obj(x)["name"]) != h.Name {
				hs = append(hs, x)
			}
		}
		mm["headers"] = append(hs, map[string]any{"type": "Exact", "name": h.Name, "value": h.Value})
		matches[i] = mm
	}
	c["matches"] = matches
	ref := deepCopy(canaryRef)
	delete(ref, "weight")
	c["backendRefs"] = []any{ref}
	return c
}

func describeGatewayRules(rules []any) string {
	var names []string
	for _, r := range rules {
		for _, x := range list(obj(r)["backendRefs"]) {
			names = append(names, str(obj(x)["name"]))
		}
	}
	if len(names) == 0 {
		return "it has no backendRefs"
	}
	return fmt.Sprintf("its backendRefs are %q", names)
}
