package route

import (
	"fmt"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// routerIstio is the router's name.
const routerIstio = "istio"

func init() {
	RegisterRouter(rulesRouter{
		name: routerIstio, object: "virtual_service", attrs: steps.SpecFor[istioAttrs](),
		docs: withSplit(map[string]string{
			"virtual_service": "the VirtualService.",
			"host":            "the destination host of the subsets (default: the VirtualService's host).",
			"subsets":         "`stable` and `canary` are subsets of `host` (default true), else hosts.",
		}),
		check: checkIstio,
		perm: rule("networking.istio.io", "virtualservices",
			"rewrite the VirtualService's routes; undo patches the recorded routes back", "get", "update", "patch"),
		resource: "virtualservices.networking.istio.io", kind: "virtualservice", field: "http",
		crd: "Istio's CRDs (networking.istio.io)",
		rewrite: func(s Traffic, http []any) ([]any, error) {
			a := istioAttrs{Subsets: true}
			if _, err := steps.Decode(s.Config, &a); err != nil {
				return nil, err
			}
			return rewriteVirtualService(http, a.host(), a.Stable, a.Canary, a.Subsets, s.Weight, s.Header)
		},
	})
}

// istioAttrs are the router's own attributes: with subsets (the default)
// stable and canary are subsets of host, else hosts.
type istioAttrs struct {
	VirtualService string  `hcl:"virtual_service,required"`
	Host           *string `hcl:"host"`
	split
	Subsets bool `hcl:"subsets"`
}

func (a istioAttrs) host() string {
	if a.Host == nil {
		return ""
	}
	return *a.Host
}

// checkIstio: with subsets (the default) the destinations are subsets of
// host, so host is needed too.
func checkIstio(cfg cty.Value) []steps.Problem {
	a := istioAttrs{Subsets: true}
	u, err := steps.Decode(cfg, &a)
	out := steps.ProblemsOf(err)
	if a.Subsets || u.Has("subsets") {
		if a.Host == nil && !u.Has("host") {
			out = append(out, steps.Problem{Path: []string{"host"}, Summary: "Missing attribute",
				Detail: "With subsets (the default), stable and canary are subsets of host; set host to the destination host of the routes, or subsets = false to name hosts in stable and canary."})
		}
	}
	out = append(out, noCookie(routerIstio, cfg)...)
	return append(out, exactHeader(routerIstio, cfg)...)
}

// headerRoutePrefix names the http routes the step adds for a header match,
// so the next traffic step (or a person reading the VirtualService) can tell
// them apart from routes written by hand.
const headerRoutePrefix = "cutover-canary-header"

// rewriteVirtualService sets the canary split of an Istio VirtualService's
// http routes. Every route with a destination that is the stable or the
// canary (subsets of host, or hosts when subsets is false) gets both,
// weighted 100-weight and weight (the missing one is added as a copy of the
// other). With a header, each such route is preceded by a copy, named
// cutover-canary-header-N, that also matches the header and sends to the
// canary only: Istio takes the first matching route. Header routes of an
// earlier step are removed first. http is not modified.
func rewriteVirtualService(http []any, host, stable, canary string, subsets bool, weight int64, h *Header) ([]any, error) {
	which := func(d map[string]any) string {
		dest := obj(d["destination"])
		if dest == nil {
			return ""
		}
		if !subsets {
			return str(dest["host"])
		}
		if str(dest["host"]) != host {
			return ""
		}
		return str(dest["subset"])
	}
	var out []any
	matched := 0
	for _, r := range http {
		route := obj(r)
		if route == nil {
			out = append(out, r)
			continue
		}
		if name := str(route["name"]); len(name) >= len(headerRoutePrefix) && name[:len(headerRoutePrefix)] == headerRoutePrefix {
			continue
		}
		dests := list(route["route"])
		si, ci := -1, -1
		var others []string
		for i, x := range dests {
			switch which(obj(x)) {
			case stable:
				si = i
			case canary:
				ci = i
			default:
				others = append(others, str(obj(obj(x)["destination"])["host"]))
			}
		}
		if si < 0 && ci < 0 {
			out = append(out, route)
			continue
		}
		matched++
		if len(others) > 0 {
			return nil, fmt.Errorf("http route %q sends to %q besides %s and %s; Istio needs the weights of a route to add up to 100, so the step cannot split it", str(route["name"]), others, stable, canary)
		}
		route = deepCopy(route)
		dests = list(route["route"])
		swap := func(d map[string]any, to string) map[string]any {
			c := deepCopy(d)
			dest := obj(c["destination"])
			if subsets {
				dest["subset"] = to
			} else {
				dest["host"] = to
			}
			return c
		}
		if ci < 0 {
			dests, ci = append(dests, swap(obj(dests[si]), canary)), len(dests)
		}
		if si < 0 {
			dests, si = append(dests, swap(obj(dests[ci]), stable)), len(dests)
		}
		obj(dests[si])["weight"] = 100 - weight
		obj(dests[ci])["weight"] = weight
		route["route"] = dests
		if h != nil {
			out = append(out, istioHeaderRoute(route, obj(dests[ci]), h, matched))
		}
		out = append(out, route)
	}
	if matched == 0 {
		what := fmt.Sprintf("subset %q or %q of host %q", stable, canary, host)
		if !subsets {
			what = fmt.Sprintf("host %q or %q", stable, canary)
		}
		return nil, fmt.Errorf("no http route has a destination that is %s", what)
	}
	return out, nil
}

func istioHeaderRoute(route, canaryDest map[string]any, h *Header, n int) map[string]any {
	c := deepCopy(route)
	c["name"] = fmt.Sprintf("%s-%d", headerRoutePrefix, n)
	matches := list(c["match"])
	if len(matches) == 0 {
		matches = []any{map[string]any{}}
	}
	for i, m := range matches {
		mm := obj(m)
		hs := obj(mm["headers"])
		if hs == nil {
			hs = map[string]any{}
		}
		hs[h.Name] = map[string]any{"exact": h.Value}
		mm["headers"] = hs
		delete(mm, "name")
		matches[i] = mm
	}
	c["match"] = matches
	d := deepCopy(canaryDest)
	delete(d, "weight")
	c["route"] = []any{d}
	return c
}
