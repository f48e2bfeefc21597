package route

import (
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// granted decodes src for k (var.x unknown for every name in unknown) and
// renders its permissions merged per resource: "group/resource: verbs".
func granted(t *testing.T, k steps.Kind, src string, unknown ...string) []string {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	vars := map[string]cty.Value{"unused": cty.True}
	for _, n := range unknown {
		vars[n] = cty.DynamicVal
	}
	cfg, diags := hcldec.Decode(f.Body, k.Spec(), &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(vars)}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ps, err := k.(steps.Permissioner).Permissions(&steps.Env{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Why == "" {
			t.Errorf("%s/%s: no reason", p.APIGroup, p.Resource)
		}
	}
	return merged(ps)
}

// merged renders ps merged per resource: "group/resource: verbs", sorted.
func merged(ps []steps.Permission) []string {
	verbs := map[string]map[string]bool{}
	for _, p := range ps {
		key := p.APIGroup + "/" + p.Resource
		if verbs[key] == nil {
			verbs[key] = map[string]bool{}
		}
		for _, v := range p.Verbs {
			verbs[key][v] = true
		}
	}
	var out []string
	for key, vs := range verbs {
		var l []string
		for v := range vs {
			l = append(l, v)
		}
		sort.Strings(l)
		out = append(out, key+": "+strings.Join(l, ","))
	}
	sort.Strings(out)
	return out
}

// everyRouter is the union of the registered routers' rules, merged.
func everyRouter() []string {
	var ps []steps.Permission
	for _, r := range routerList() {
		ps = append(ps, r.Permissions()...)
	}
	return merged(ps)
}

func TestRoutePermissions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    steps.Kind
		src     string
		unknown []string
		want    []string
	}{
		{"switch_selector waits for endpoints", switchSelector{}, `
service  = "web"
selector = { version = "v2" }`, nil, []string{
			"/pods: list,watch",
			"/services: get,patch",
			"discovery.k8s.io/endpointslices: list,watch"}},
		{"switch_selector without guard nor wait", switchSelector{}, `
service        = "web"
selector       = { version = "v2" }
allow_empty    = true
wait_endpoints = false`, nil, []string{"/services: get,patch"}},
		{"switch_selector guard only", switchSelector{}, `
service        = "web"
selector       = { version = "v2" }
wait_endpoints = false`, nil, []string{"/pods: list", "/services: get,patch"}},
		{"switch_selector wait not known", switchSelector{}, `
service        = "web"
selector       = { version = "v2" }
allow_empty    = true
wait_endpoints = var.w`, []string{"w"}, []string{
			"/pods: list,watch",
			"/services: get,patch",
			"discovery.k8s.io/endpointslices: list,watch"}},
		{"switch_backend", switchBackend{}, `
ingress = "web"
service = "web-green"`, nil, []string{"/services: get", "networking.k8s.io/ingresses: get,update"}},
		{"traffic nginx", trafficKind{}, `
router  = "ingress-nginx"
ingress = "web-canary"
weight  = 10`, nil, []string{"networking.k8s.io/ingresses: get,patch"}},
		{"traffic gateway", trafficKind{}, `
router = "gateway-api"
route  = "web"
stable = "web-stable"
canary = "web-canary"
weight = 10`, nil, []string{"gateway.networking.k8s.io/httproutes: get,patch,update"}},
		{"traffic istio", trafficKind{}, `
router          = "istio"
virtual_service = "web"
host            = "web"
stable          = "v1"
canary          = "v2"
weight          = 10`, nil, []string{"networking.istio.io/virtualservices: get,patch,update"}},
		// Every registered router's rules, whatever routers there are.
		{"traffic router not known", trafficKind{}, `
router = var.r
weight = 10`, []string{"r"}, everyRouter()},
		{"label replicaset by name", labelKind{}, `
name = "web-v1"
add  = { createBy = "v2" }`, nil, []string{"/pods: get,list,patch", "apps/replicasets: get,patch"}},
		{"label pods by selector", labelKind{}, `
kind     = "Pod"
selector = { app = "web" }
add      = { state = "down" }`, nil, []string{"/pods: get,list,patch"}},
		{"label deployment by name", labelKind{}, `
kind = "deploy"
name = "web"
add  = { tier = "blue" }`, nil, []string{"apps/deployments: get,patch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := granted(t, tc.kind, tc.src, tc.unknown...)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
