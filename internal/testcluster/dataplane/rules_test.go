package dataplane

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

func TestEndpointsOfKeepsOnlyReadyNotTerminating(t *testing.T) {
	ep := func(ip string, ready, serving, terminating *bool) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ready, Serving: serving, Terminating: terminating}}
	}
	s := &discoveryv1.EndpointSlice{
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
		Endpoints: []discoveryv1.Endpoint{
			ep("10.2.0.1", ptr.To(true), ptr.To(true), ptr.To(false)),
			ep("10.2.0.2", nil, nil, nil), // unset: ready
			ep("10.2.0.3", ptr.To(false), ptr.To(true), ptr.To(false)),
			ep("10.2.0.4", ptr.To(false), ptr.To(true), ptr.To(true)), // terminating, still serving
		},
	}
	dup := s.DeepCopy() // a second slice with the same addresses counts once
	got := endpointsOf([]*discoveryv1.EndpointSlice{s, dup})["http"]
	if len(got) != 2 || got[0].addr() != "127.2.0.1:8080" || got[1].addr() != "127.2.0.2:8080" {
		t.Fatalf("endpoints = %v, want 127.2.0.1:8080 and 127.2.0.2:8080 (dialled for 10.2.0.1 and .2)", got)
	}
}

func TestBalancerRoundRobin(t *testing.T) {
	var b balancer
	eps := []endpoint{{IP: "a"}, {IP: "b"}, {IP: "c"}}
	seen := map[string]int{}
	for range 300 {
		e, _ := b.pick(eps)
		seen[e.IP]++
	}
	if seen["a"] != 100 || seen["b"] != 100 || seen["c"] != 100 {
		t.Fatalf("picks = %v, want 100 each", seen)
	}
	if _, ok := b.pick(nil); ok {
		t.Fatal("picked from no endpoints")
	}
}

func TestWeighted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	counts := make([]int, 3)
	for range 10000 {
		counts[weighted([]int{80, 20, 0}, r.IntN)]++
	}
	if counts[2] != 0 || counts[1] < 1800 || counts[1] > 2200 {
		t.Fatalf("counts = %v, want about 8000/2000/0", counts)
	}
	if weighted([]int{0, 0}, r.IntN) != -1 {
		t.Fatal("all-zero weights picked something")
	}
}

func ingress(t *testing.T, y string) *networkingv1.Ingress {
	t.Helper()
	var ing networkingv1.Ingress
	if err := yaml.Unmarshal([]byte(y), &ing); err != nil {
		t.Fatal(err)
	}
	return &ing
}

func unstr(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

const mainIngress = `
metadata: {name: web, namespace: ns}
spec:
  rules:
  - host: web.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web-v1, port: {number: 80}}}}
`

func canaryIngress(ann string) string {
	return `
metadata:
  name: web-canary
  namespace: ns
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
` + ann + `
spec:
  rules:
  - host: web.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web-v2, port: {number: 80}}}}
`
}

// route sends n requests through a table and counts the Services chosen.
func route(t *testing.T, tb *table, n int, mod func(*http.Request)) map[string]int {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 8))
	out := map[string]int{}
	for range n {
		req := httptest.NewRequest("GET", "http://web.example/api/x", nil)
		if mod != nil {
			mod(req)
		}
		rl := tb.match(req)
		if rl == nil {
			out["no route"]++
			continue
		}
		d, ok := rl.choose(req, r.IntN)
		if !ok {
			out["none"]++
			continue
		}
		out[d.svc.Name]++
	}
	return out
}

func TestNginxCanaryWeightHeaderCookie(t *testing.T) {
	ann := `    nginx.ingress.kubernetes.io/canary-weight: "20"
    nginx.ingress.kubernetes.io/canary-by-header: X-Canary
    nginx.ingress.kubernetes.io/canary-by-cookie: canary`
	tb := newTable(nil, ingressRules([]*networkingv1.Ingress{ingress(t, canaryIngress(ann)), ingress(t, mainIngress)}))
	got := route(t, tb, 10000, nil)
	if got["web-v2"] < 1800 || got["web-v2"] > 2200 || got["web-v1"]+got["web-v2"] != 10000 {
		t.Errorf("by weight 20: %v", got)
	}
	if got := route(t, tb, 100, func(r *http.Request) { r.Header.Set("X-Canary", "always") }); got["web-v2"] != 100 {
		t.Errorf("header always: %v", got)
	}
	if got := route(t, tb, 100, func(r *http.Request) { r.Header.Set("X-Canary", "never") }); got["web-v1"] != 100 {
		t.Errorf("header never: %v", got)
	}
	if got := route(t, tb, 100, func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "canary", Value: "always"}) }); got["web-v2"] != 100 {
		t.Errorf("cookie always: %v", got)
	}
	// Header before cookie.
	if got := route(t, tb, 100, func(r *http.Request) {
		r.Header.Set("X-Canary", "never")
		r.AddCookie(&http.Cookie{Name: "canary", Value: "always"})
	}); got["web-v1"] != 100 {
		t.Errorf("header never + cookie always: %v", got)
	}
}

func TestNginxCanaryHeaderValueOnly(t *testing.T) {
	ann := `    nginx.ingress.kubernetes.io/canary-by-header: X-Group
    nginx.ingress.kubernetes.io/canary-by-header-value: beta`
	tb := newTable(nil, ingressRules([]*networkingv1.Ingress{ingress(t, mainIngress), ingress(t, canaryIngress(ann))}))
	if got := route(t, tb, 200, nil); got["web-v1"] != 200 {
		t.Errorf("no header: %v", got)
	}
	if got := route(t, tb, 100, func(r *http.Request) { r.Header.Set("X-Group", "beta") }); got["web-v2"] != 100 {
		t.Errorf("header beta: %v", got)
	}
	if got := route(t, tb, 100, func(r *http.Request) { r.Header.Set("X-Group", "always") }); got["web-v1"] != 100 {
		t.Errorf("header always with a value configured: %v", got)
	}
	// Another host: no route.
	if got := route(t, tb, 1, func(r *http.Request) { r.Host = "other.example" }); got["no route"] != 1 {
		t.Errorf("other host: %v", got)
	}
}

func TestCanaryWithoutMainIsIgnored(t *testing.T) {
	tb := newTable(nil, ingressRules([]*networkingv1.Ingress{ingress(t, canaryIngress(`    nginx.ingress.kubernetes.io/canary-weight: "100"`))}))
	if got := route(t, tb, 1, nil); got["no route"] != 1 {
		t.Fatalf("canary alone: %v", got)
	}
}

func TestHTTPRouteWeightsAndHeaders(t *testing.T) {
	hr := unstr(t, `
metadata: {name: web, namespace: ns}
spec:
  hostnames: [web.example]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /}
      headers: [{type: Exact, name: X-Canary, value: "yes"}]
    backendRefs: [{name: web-v2, port: 80}]
  - backendRefs:
    - {name: web-v1, port: 80, weight: 70}
    - {name: web-v2, port: 80, weight: 30}
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: web-api, port: 80}]
`)
	tb := newTable(nil, httpRouteRules([]*unstructured.Unstructured{hr}))
	if got := route(t, tb, 10, nil); got["web-api"] != 10 {
		t.Errorf("/api/x goes to the longer prefix: %v", got)
	}
	root := func(r *http.Request) { r.URL.Path = "/" }
	got := route(t, tb, 10000, root)
	if got["web-v2"] < 2800 || got["web-v2"] > 3200 {
		t.Errorf("weights 70/30: %v", got)
	}
	if got := route(t, tb, 100, func(r *http.Request) { root(r); r.Header.Set("X-Canary", "yes") }); got["web-v2"] != 100 {
		t.Errorf("header match: %v", got)
	}
	if got := route(t, tb, 1, func(r *http.Request) { root(r); r.URL.Path = "/apix" }); got["web-api"] != 0 {
		t.Errorf("/apix is not under /api: %v", got)
	}
}

func TestVirtualServiceOrderSubsetsHosts(t *testing.T) {
	vs := unstr(t, `
metadata: {name: web, namespace: ns}
spec:
  hosts: [web]
  http:
  - name: cutover-canary-header-0
    match: [{headers: {x-canary: {exact: "yes"}}}]
    route: [{destination: {host: web, subset: v2}}]
  - route:
    - {destination: {host: web.ns.svc.cluster.local, subset: v1}, weight: 90}
    - {destination: {host: web, subset: v2}, weight: 10}
`)
	dr := unstr(t, `
metadata: {name: web, namespace: ns}
spec:
  host: web
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`)
	tb := newTable(virtualServiceRules([]*unstructured.Unstructured{vs}, []*unstructured.Unstructured{dr}), nil)
	r := rand.New(rand.NewPCG(3, 4))
	counts := map[string]int{}
	for range 10000 {
		req := httptest.NewRequest("GET", "http://web.ns.svc.cluster.local/", nil)
		d, _ := tb.match(req).choose(req, r.IntN)
		counts[d.svc.String()+" "+d.subset["version"]]++
	}
	if counts["ns/web v2"] < 800 || counts["ns/web v2"] > 1200 || counts["ns/web v1"]+counts["ns/web v2"] != 10000 {
		t.Errorf("weights 90/10: %v", counts)
	}
	req := httptest.NewRequest("GET", "http://web/", nil)
	req.Header.Set("X-Canary", "yes")
	for range 100 {
		if d, _ := tb.match(req).choose(req, r.IntN); d.subset["version"] != "v2" {
			t.Fatalf("header route: %v", d)
		}
	}
	if tb.match(httptest.NewRequest("GET", "http://web.other/", nil)) != nil {
		t.Error("a host of another namespace matched")
	}
}

func TestHostService(t *testing.T) {
	for host, want := range map[string]string{"web": "ns/web", "web.prod": "prod/web", "web.prod.svc.cluster.local": "prod/web", "example.com": "com/example"} {
		k, ok := hostService(host, "ns")
		if !ok || k.String() != want {
			t.Errorf("hostService(%q) = %v %v, want %s", host, k, ok, want)
		}
	}
	if _, ok := hostService("api.example.org", "ns"); ok {
		t.Error("an external host read as a Service")
	}
}
