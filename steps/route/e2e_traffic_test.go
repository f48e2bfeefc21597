package route

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutoverhq/cutover/kube"
)

// ingress-nginx canary: weight and header set the annotations, the next step
// replaces them, and Undo of both attempts leaves the Ingress as it was
// (including an annotation set by hand before).
func TestE2ETrafficNginx(t *testing.T) {
	s := newScenario(t)
	s.service("web-canary", map[string]string{"app": "web", "version": "v2"})
	pt := networkingv1.PathTypePrefix
	before, err := s.cl.Typed.NetworkingV1().Ingresses(s.ns).Create(s.ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web-canary", Annotations: map[string]string{
			nginxCanary + "-by-header-pattern": "^beta$", "team": "shop"}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "shop.example",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pt, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "web-canary", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}, metav1.CreateOptions{})
	s.must(err)

	k := trafficKind{}
	out, err := k.Run(s.ctx, s.env, cfgOf(t, k, `
router  = "ingress-nginx"
ingress = "web-canary"
weight  = 20
header {
  name  = "x-canary"
  value = "always"
}`))
	s.must(err)
	if got := out.GetAttr("previous").AsValueMap(); len(got) != 1 || got[nginxCanary+"-by-header-pattern"].AsString() != "^beta$" {
		t.Fatalf("previous = %#v", got)
	}
	ing, err := s.cl.Typed.NetworkingV1().Ingresses(s.ns).Get(s.ctx, "web-canary", metav1.GetOptions{})
	s.must(err)
	want := map[string]string{"team": "shop", nginxCanary: "true", nginxCanary + "-weight": "20",
		nginxCanary + "-by-header": "x-canary", nginxCanary + "-by-header-value": "always", kube.AnnotationRun: "e2e"}
	if !reflect.DeepEqual(ing.Annotations, want) {
		t.Fatalf("annotations = %v\nwant %v", ing.Annotations, want)
	}
	_, err = k.Run(s.ctx, s.env, cfgOf(t, k, `
router  = "ingress-nginx"
ingress = "web-canary"
weight  = 50
cookie  = "canary"`))
	s.must(err)
	ing, err = s.cl.Typed.NetworkingV1().Ingresses(s.ns).Get(s.ctx, "web-canary", metav1.GetOptions{})
	s.must(err)
	want = map[string]string{"team": "shop", nginxCanary: "true", nginxCanary + "-weight": "50", nginxCanary + "-by-cookie": "canary", kube.AnnotationRun: "e2e"}
	if !reflect.DeepEqual(ing.Annotations, want) {
		t.Fatalf("second step annotations = %v\nwant %v", ing.Annotations, want)
	}
	s.must(k.Undo(s.ctx, s.env, s.takeRecords()))
	ing, err = s.cl.Typed.NetworkingV1().Ingresses(s.ns).Get(s.ctx, "web-canary", metav1.GetOptions{})
	s.must(err)
	if !reflect.DeepEqual(ing.Annotations, before.Annotations) {
		t.Fatalf("annotations after undo = %v, want %v", ing.Annotations, before.Annotations)
	}
	_, err = k.Run(s.ctx, s.env, cfgOf(t, k, `
router  = "ingress-nginx"
ingress = "missing"
weight  = 5`))
	if err == nil || !strings.Contains(err.Error(), `canary ingress "missing" not found in namespace "`+s.ns+`"`) {
		t.Fatalf("missing ingress: %v", err)
	}
}

func (s *scenario) createCustom(gvr schema.GroupVersionResource, manifest string) *unstructured.Unstructured {
	s.t.Helper()
	var u unstructured.Unstructured
	s.must(json.Unmarshal([]byte(manifest), &u.Object))
	got, err := s.cl.Dynamic.Resource(gvr).Namespace(s.ns).Create(s.ctx, &u, metav1.CreateOptions{})
	s.must(err)
	return got
}

func (s *scenario) nested(gvr schema.GroupVersionResource, name string, field ...string) []any {
	s.t.Helper()
	u, err := s.cl.Dynamic.Resource(gvr).Namespace(s.ns).Get(s.ctx, name, metav1.GetOptions{})
	s.must(err)
	l, _, err := unstructured.NestedSlice(u.Object, field...)
	s.must(err)
	return l
}

// Gateway API: weights land on the HTTPRoute's backendRefs (validated by the
// real CRD schema and CEL rules); Undo restores the rules exactly.
func TestE2ETrafficGatewayAPI(t *testing.T) {
	s := newScenario(t)
	s.installCRD(filepath.Join(moduleDir(t, gatewayModule), gatewayCRD), "httproutes.gateway.networking.k8s.io")
	gvr := schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
	s.createCustom(gvr, `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"web"},
	 "spec":{"parentRefs":[{"name":"gw"}],"hostnames":["shop.example"],"rules":[
	  {"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"backendRefs":[{"name":"web-stable","port":80}]}]}}`)
	before := s.nested(gvr, "web", "spec", "rules")

	k := trafficKind{}
	_, err := k.Run(s.ctx, s.env, cfgOf(t, k, `
router = "gateway-api"
route  = "web"
stable = "web-stable"
canary = "web-canary"
weight = 30
header {
  name  = "x-canary"
  value = "yes"
}`))
	s.must(err)
	rules := s.nested(gvr, "web", "spec", "rules")
	if len(rules) != 2 {
		t.Fatalf("want a header rule and the weighted rule, got %s", js(t, rules))
	}
	hdrRefs, refs := list(obj(rules[0])["backendRefs"]), list(obj(rules[1])["backendRefs"])
	if len(hdrRefs) != 1 || obj(hdrRefs[0])["name"] != "web-canary" || !strings.Contains(js(t, rules[0]), `"x-canary"`) {
		t.Fatalf("header rule = %s", js(t, rules[0]))
	}
	if len(refs) != 2 || obj(refs[0])["weight"] != int64(70) || obj(refs[1])["name"] != "web-canary" || obj(refs[1])["weight"] != int64(30) {
		t.Fatalf("weighted refs = %s", js(t, refs))
	}
	_, err = k.Run(s.ctx, s.env, cfgOf(t, k, `
router = "gateway-api"
route  = "web"
stable = "web-stable"
canary = "web-canary"
weight = 60`))
	s.must(err)
	if n := len(s.nested(gvr, "web", "spec", "rules")); n != 1 {
		t.Fatalf("a step without header must leave one rule, got %d", n)
	}
	s.must(k.Undo(s.ctx, s.env, s.takeRecords()))
	if after := s.nested(gvr, "web", "spec", "rules"); !reflect.DeepEqual(after, before) {
		t.Fatalf("rules after undo = %s\nwant %s", js(t, after), js(t, before))
	}
}

// Istio: destination weights of the VirtualService's http route and a
// header route first; Undo restores spec.http exactly.
func TestE2ETrafficIstio(t *testing.T) {
	s := newScenario(t)
	s.installCRD(filepath.Join(moduleDir(t, istioModule), istioCRDs), istioVSName)
	gvr := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1beta1", Resource: "virtualservices"}
	s.createCustom(gvr, `{"apiVersion":"networking.istio.io/v1beta1","kind":"VirtualService","metadata":{"name":"web"},
	 "spec":{"hosts":["web"],"http":[{"name":"main","route":[{"destination":{"host":"web","subset":"stable"}}]}]}}`)
	before := s.nested(gvr, "web", "spec", "http")

	k := trafficKind{}
	_, err := k.Run(s.ctx, s.env, cfgOf(t, k, `
router          = "istio"
virtual_service = "web"
host            = "web"
stable          = "stable"
canary          = "canary"
weight          = 10
header {
  name  = "x-user"
  value = "beta"
}`))
	s.must(err)
	http := s.nested(gvr, "web", "spec", "http")
	want := `[{"match":[{"headers":{"x-user":{"exact":"beta"}}}],"name":"cutover-canary-header-1","route":[{"destination":{"host":"web","subset":"canary"}}]},` +
		`{"name":"main","route":[{"destination":{"host":"web","subset":"stable"},"weight":90},{"destination":{"host":"web","subset":"canary"},"weight":10}]}]`
	if js(t, http) != want {
		t.Fatalf("http = %s\nwant %s", js(t, http), want)
	}
	s.must(k.Undo(s.ctx, s.env, s.takeRecords()))
	if after := s.nested(gvr, "web", "spec", "http"); !reflect.DeepEqual(after, before) {
		t.Fatalf("http after undo = %s\nwant %s", js(t, after), js(t, before))
	}
}
