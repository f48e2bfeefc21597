package route

import (
	"reflect"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

func TestSelectorChangeNullRemovesEmptyStringKeeps(t *testing.T) {
	cfg := cty.ObjectVal(map[string]cty.Value{
		"selector": cty.MapVal(map[string]cty.Value{
			"version": cty.StringVal("v2"),
			"track":   cty.NullVal(cty.String),
			"tier":    cty.StringVal(""),
		}),
	})
	c := newSelectorConfig()
	if _, err := steps.Decode(cfg, &c); err != nil {
		t.Fatal(err)
	}
	ch := selectorChange(c.Selector)
	got := ch.apply(map[string]string{"app": "web", "version": "v1", "track": "blue"})
	want := map[string]string{"app": "web", "version": "v2", "tier": ""}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("apply = %v, want %v", got, want)
	}
	patch := ch.patch()
	if v, ok := patch["track"]; !ok || v != nil {
		t.Fatalf("patch must set removed key track to null, got %v", patch)
	}
	if patch["version"] != "v2" || patch["tier"] != "" {
		t.Fatalf("patch = %v", patch)
	}
}

func TestApplyDoesNotModifyInput(t *testing.T) {
	old := map[string]string{"version": "v1"}
	labelChange{set: map[string]string{"version": "v2"}}.apply(old)
	if old["version"] != "v1" {
		t.Fatalf("apply modified its input: %v", old)
	}
}

func TestSwitchSelectorCheck(t *testing.T) {
	k := switchSelector{}
	sel := cty.MapVal(map[string]cty.Value{"version": cty.StringVal("v2")})
	cases := []struct {
		name string
		cfg  map[string]cty.Value
		want []string // summaries
	}{
		{"ok", map[string]cty.Value{"service": cty.StringVal("web"), "services": cty.NullVal(cty.List(cty.String)), "selector": sel}, nil},
		{"none", map[string]cty.Value{"service": cty.NullVal(cty.String), "services": cty.NullVal(cty.List(cty.String)), "selector": sel}, []string{"No Service to switch"}},
		{"both", map[string]cty.Value{"service": cty.StringVal("a"), "services": cty.ListVal([]cty.Value{cty.StringVal("b")}), "selector": sel}, []string{"Both service and services are set"}},
		{"unknown service skipped", map[string]cty.Value{"service": cty.UnknownVal(cty.String), "services": cty.NullVal(cty.List(cty.String)), "selector": sel}, nil},
		{"bad key", map[string]cty.Value{"service": cty.StringVal("web"), "services": cty.NullVal(cty.List(cty.String)),
			"selector": cty.MapVal(map[string]cty.Value{"not a key!": cty.StringVal("x")})}, []string{"Invalid label key"}},
		{"bad value", map[string]cty.Value{"service": cty.StringVal("web"), "services": cty.NullVal(cty.List(cty.String)),
			"selector": cty.MapVal(map[string]cty.Value{"version": cty.StringVal("v 2")})}, []string{"Invalid label value"}},
		{"unknown selector skipped", map[string]cty.Value{"service": cty.StringVal("web"), "services": cty.NullVal(cty.List(cty.String)),
			"selector": cty.UnknownVal(cty.Map(cty.String))}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := summaries(k.Check(cty.ObjectVal(c.cfg)))
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Check = %q, want %q", got, c.want)
			}
		})
	}
}

func TestEndpointsOf(t *testing.T) {
	yes, no := true, false
	ep := func(pod string, ready *bool) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ready},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: pod}}
	}
	slices := []*discoveryv1.EndpointSlice{{Endpoints: []discoveryv1.Endpoint{
		ep("green-1", &yes), ep("green-2", nil), ep("blue-1", &yes), ep("blue-2", &no),
	}}}
	st := endpointsOf(slices, map[string]bool{"green-1": true, "green-2": true})
	if st.onNew != 2 || !reflect.DeepEqual(st.stale, []string{"blue-1"}) || st.done() {
		t.Fatalf("state = %+v (done %v), want 2 on new, blue-1 stale, not done", st, st.done())
	}
	st = endpointsOf(slices[:0], map[string]bool{"green-1": true})
	if st.done() {
		t.Fatal("no ready endpoint must not count as switched")
	}
	slices[0].Endpoints = slices[0].Endpoints[:2]
	if st := endpointsOf(slices, map[string]bool{"green-1": true, "green-2": true}); !st.done() {
		t.Fatalf("all ready endpoints on the new pods must be done: %+v", st)
	}
}

func summaries(ps []steps.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Summary)
	}
	return out
}
