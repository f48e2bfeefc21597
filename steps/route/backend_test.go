package route

import (
	"reflect"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ingressSpec() networkingv1.IngressSpec {
	be := func(svc string, port int32) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: port}}}
	}
	def := be("blue", 80)
	return networkingv1.IngressSpec{
		DefaultBackend: &def,
		Rules: []networkingv1.IngressRule{
			{Host: "shop.example", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
				{Path: "/", Backend: be("blue", 80)},
				{Path: "/admin", Backend: be("admin", 8080)},
			}}}},
			{Host: "api.example", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
				{Path: "/", Backend: be("blue", 80)},
			}}}},
		},
	}
}

func backendNames(spec networkingv1.IngressSpec) []string {
	out := []string{spec.DefaultBackend.Service.Name}
	for _, r := range spec.Rules {
		for _, p := range r.HTTP.Paths {
			out = append(out, p.Backend.Service.Name)
		}
	}
	return out
}

func TestRewriteBackendsFrom(t *testing.T) {
	spec := ingressSpec()
	sw := rewriteBackends(&spec, "green", nil, "", "", "blue")
	if got := backendNames(spec); !reflect.DeepEqual(got, []string{"green", "green", "admin", "green"}) {
		t.Fatalf("backends = %v", got)
	}
	if len(sw) != 3 || sw[0].Service != "blue" || sw[0].Port != "80" || sw[1].Host != "shop.example" {
		t.Fatalf("switched = %+v", sw)
	}
	if spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Number != 80 {
		t.Fatal("without port the old port must be kept")
	}
}

func TestRewriteBackendsHostPathPort(t *testing.T) {
	spec := ingressSpec()
	sw := rewriteBackends(&spec, "green", &networkingv1.ServiceBackendPort{Name: "http"}, "api.example", "/", "")
	if got := backendNames(spec); !reflect.DeepEqual(got, []string{"blue", "blue", "admin", "green"}) {
		t.Fatalf("host/path must narrow the switch and leave the defaultBackend: %v", got)
	}
	if len(sw) != 1 || spec.Rules[1].HTTP.Paths[0].Backend.Service.Port.Name != "http" {
		t.Fatalf("switched = %+v", sw)
	}
	if sw := rewriteBackends(&spec, "green", nil, "", "", "nobody"); len(sw) != 0 {
		t.Fatalf("from matching nothing must switch nothing: %+v", sw)
	}
	if msg := describeBackends(ingressSpec()); !strings.Contains(msg, `host "shop.example" path "/admin" → admin`) {
		t.Fatalf("describeBackends = %s", msg)
	}
}

func TestGuardSelector(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	if err := guardSelector("replicaset", "web-1", "ns", sel, labelChange{del: []string{"app"}}); err == nil || !strings.Contains(err.Error(), `"app"`) {
		t.Fatalf("removing a selector label must be refused, got %v", err)
	}
	if err := guardSelector("replicaset", "web-1", "ns", sel, labelChange{set: map[string]string{"app": "api"}}); err == nil {
		t.Fatal("changing a selector label must be refused")
	}
	if err := guardSelector("replicaset", "web-1", "ns", sel, labelChange{set: map[string]string{"app": "web", "createBy": "v2"}, del: []string{"old"}}); err != nil {
		t.Fatalf("other labels are fine: %v", err)
	}
}
