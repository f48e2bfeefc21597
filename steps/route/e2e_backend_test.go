package route

import (
	"reflect"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Blue/green by Ingress: every backend pointing at blue moves to green;
// Undo puts rules and defaultBackend back exactly.
func TestE2ESwitchBackend(t *testing.T) {
	s := newScenario(t)
	s.service("blue", map[string]string{"app": "web", "version": "v1"})
	s.service("green", map[string]string{"app": "web", "version": "v2"})
	s.service("admin", map[string]string{"app": "admin"})
	spec := ingressSpec() // blue:80 on both hosts and as default, admin:8080 on /admin
	spec.Rules[0].HTTP.Paths[1].Backend.Service.Port = networkingv1.ServiceBackendPort{Name: "http"}
	pathType := networkingv1.PathTypePrefix
	for _, r := range spec.Rules {
		for i := range r.HTTP.Paths {
			r.HTTP.Paths[i].PathType = &pathType
		}
	}
	before, err := s.cl.Typed.NetworkingV1().Ingresses(s.ns).Create(s.ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: spec}, metav1.CreateOptions{})
	s.must(err)

	k := switchBackend{}
	_, err = k.Run(s.ctx, s.env, cfgOf(t, k, `
ingress = "web"
service = "green"
port    = 8080`))
	if err == nil || !strings.Contains(err.Error(), `service "green"`) || !strings.Contains(err.Error(), "no port 8080") || !strings.Contains(err.Error(), "http 80") {
		t.Fatalf("a port the Service lacks must be refused, naming what it has; got %v", err)
	}
	if s.nrecords() != 0 {
		t.Fatal("nothing may be journaled before the checks pass")
	}

	out, err := k.Run(s.ctx, s.env, cfgOf(t, k, `
ingress = "web"
service = "green"
from    = "blue"`))
	s.must(err)
	if out.GetAttr("previous").AsString() != "blue" || out.GetAttr("previous_backends").LengthInt() != 3 {
		t.Fatalf("output = %#v", out)
	}
	live, err := s.cl.Typed.NetworkingV1().Ingresses(s.ns).Get(s.ctx, "web", metav1.GetOptions{})
	s.must(err)
	if got := backendNames(live.Spec); !reflect.DeepEqual(got, []string{"green", "green", "admin", "green"}) {
		t.Fatalf("backends after the switch = %v", got)
	}

	s.must(k.Undo(s.ctx, s.env, s.takeRecords()))
	live, err = s.cl.Typed.NetworkingV1().Ingresses(s.ns).Get(s.ctx, "web", metav1.GetOptions{})
	s.must(err)
	if !reflect.DeepEqual(live.Spec.Rules, before.Spec.Rules) || !reflect.DeepEqual(live.Spec.DefaultBackend, before.Spec.DefaultBackend) {
		t.Fatalf("undo: rules %+v\nwant %+v", live.Spec.Rules, before.Spec.Rules)
	}

	_, err = k.Run(s.ctx, s.env, cfgOf(t, k, `
ingress = "web"
service = "green"
host    = "nowhere.example"`))
	if err == nil || !strings.Contains(err.Error(), `under host "nowhere.example"`) || !strings.Contains(err.Error(), "it has:") {
		t.Fatalf("a host without rules must be an error listing the backends, got %v", err)
	}
}
