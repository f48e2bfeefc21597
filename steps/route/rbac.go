package route

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// The API permissions of the routing kinds (steps.Permissioner), read off
// what Run and Undo call. Undo writes with the same verb as the run, or with
// patch where the run updated (traffic's rules), and reads nothing else.

func rule(group, resource, why string, verbs ...string) steps.Permission {
	return steps.Permission{APIGroup: group, Resource: resource, Verbs: verbs, Why: why}
}

// Permissions of switch_selector: the Services read and patched (run and
// undo); the pods the new selector picks listed first (unless allow_empty);
// the Services' EndpointSlices and those pods watched until the endpoints
// follow (unless wait_endpoints = false).
func (switchSelector) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	out := []steps.Permission{rule("", "services", "switch the Service selector; undo switches it back", "get", "patch")}
	c := newSelectorConfig()
	u, _ := steps.Decode(cfg, &c)
	if !c.AllowEmpty || u.Has("allow_empty") {
		out = append(out, rule("", "pods", "check the new selector matches ready pods before switching", "list"))
	}
	if c.WaitEndpoints || u.Has("wait_endpoints") {
		out = append(out,
			rule("", "pods", "wait until the Service's endpoints are the new pods", "list", "watch"),
			rule("discovery.k8s.io", "endpointslices", "wait until the Service's endpoints are the new pods", "list", "watch"))
	}
	return out, nil
}

// Permissions of switch_backend: the Ingress read and updated (run and
// undo), the target Service read to check its port.
func (switchBackend) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	return []steps.Permission{
		rule("networking.k8s.io", "ingresses", "switch the Ingress backends; undo switches them back", "get", "update"),
		rule("", "services", "check the new backend Service and its port", "get"),
	}, nil
}

// Permissions of traffic: the router's own; while the router is not known,
// the needs of every router (a Role then grants more than one run uses).
func (trafficKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	var c trafficCommon
	if u, _ := steps.Decode(cfg, &c); !u.Has("router") && c.Router != "" {
		if rt, ok := routerNamed(c.Router); ok {
			return rt.Permissions(), nil
		}
		return nil, nil
	}
	var out []steps.Permission
	for _, rt := range routerList() {
		for _, p := range rt.Permissions() {
			p.Why += " (router not known without its variables)"
			p.Assumed = true
			out = append(out, p)
		}
	}
	return out, nil
}

// labelResources are the resources of the kinds label accepts.
var labelResources = map[string][2]string{
	"ReplicaSet":  {"apps", "replicasets"},
	"Deployment":  {"apps", "deployments"},
	"StatefulSet": {"apps", "statefulsets"},
	"Pod":         {"", "pods"},
}

// Permissions of label: the objects found by name (get) or selector (list)
// and patched, run and undo alike; undo reads each one first (get). A
// ReplicaSet is read again to find its pods, which are listed and
// relabelled with it.
func (labelKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	kinds := []string{"ReplicaSet", "Deployment", "StatefulSet", "Pod"}
	note := " (kind not known without its variables)"
	var c labelConfig
	u, _ := steps.Decode(cfg, &c)
	if !u.Has("kind") {
		kind, err := labelKindOf(c.Kind)
		if err != nil {
			return nil, err
		}
		kinds, note = []string{kind}, ""
	}
	// Undo reads every object it relabels before writing (get), so get is
	// needed whether the run found them by name or by selector.
	find := []string{"get", "list"}
	if !u.Has("name", "selector") && c.Name != nil && c.Selector == nil {
		find = []string{"get"}
	}
	var out []steps.Permission
	for _, kind := range kinds {
		gr := labelResources[kind]
		verbs := append(append([]string{}, find...), "patch")
		if kind == "ReplicaSet" {
			verbs = append(verbs, "get")
			out = append(out, rule("", "pods", "relabel the ReplicaSet's pods; undo relabels them back"+note, "get", "list", "patch"))
		}
		out = append(out, rule(gr[0], gr[1], "change the "+kind+"'s labels; undo changes them back"+note, verbs...))
	}
	for i := range out {
		out[i].Assumed = note != ""
	}
	return out, nil
}
