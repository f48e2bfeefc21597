package route

import (
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutoverhq/cutover/internal/testcluster"
)

// Blue/green by Service: after Run the EndpointSlices already point at the
// green pods only; Undo brings the selector back exactly and the endpoints
// follow.
func TestE2ESwitchSelector(t *testing.T) {
	s := newScenario(t)
	s.deployment("v1", 2, nil)
	s.deployment("v2", 2, nil)
	blue := s.waitReadyPods("app=web,version=v1", 2)
	green := s.waitReadyPods("app=web,version=v2", 2)
	s.service("web", map[string]string{"app": "web", "version": "v1"})
	s.waitEndpointPods("web", blue)

	k := switchSelector{}
	out, err := k.Run(s.ctx, s.env, cfgOf(t, k, `
service  = "web"
selector = { version = "v2" }`))
	s.must(err)
	if got := out.GetAttr("previous").Index(ctyStr("version")).AsString(); got != "v1" {
		t.Fatalf("output previous.version = %q, want v1", got)
	}
	// "switched" means the traffic has moved when Run returns.
	if got := s.readyEndpointPods("web"); !reflect.DeepEqual(got, green) {
		t.Fatalf("ready endpoints right after the switch = %v, want the green pods %v", got, green)
	}
	svc, err := s.cl.Typed.CoreV1().Services(s.ns).Get(s.ctx, "web", metav1.GetOptions{})
	s.must(err)
	if want := map[string]string{"app": "web", "version": "v2"}; !reflect.DeepEqual(svc.Spec.Selector, want) {
		t.Fatalf("selector = %v, want %v", svc.Spec.Selector, want)
	}

	// A second attempt that added a key: undo must still land on the state
	// from before the first attempt, not in between.
	_, err = k.Run(s.ctx, s.env, cfgOf(t, k, `
service        = "web"
selector       = { version = "v2", tier = "front" }
allow_empty    = true
wait_endpoints = false`))
	s.must(err)
	recs := s.takeRecords()
	if len(recs) != 4 {
		t.Fatalf("want one record and one note per attempt, got %d", len(recs))
	}
	s.must(k.Undo(s.ctx, s.env, recs))
	svc, err = s.cl.Typed.CoreV1().Services(s.ns).Get(s.ctx, "web", metav1.GetOptions{})
	s.must(err)
	if want := map[string]string{"app": "web", "version": "v1"}; !reflect.DeepEqual(svc.Spec.Selector, want) {
		t.Fatalf("selector after undo = %v, want exactly %v", svc.Spec.Selector, want)
	}
	s.waitEndpointPods("web", blue)
}

// The guard refuses a selector without ready pods before writing anything.
func TestE2ESwitchSelectorGuard(t *testing.T) {
	s := newScenario(t)
	s.deployment("v1", 1, nil)
	s.deployment("v3", 1, map[string]string{testcluster.AnnotationNeverReady: "true"})
	s.waitReadyPods("app=web,version=v1", 1)
	before := s.service("web", map[string]string{"app": "web", "version": "v1"})
	s.service("api", map[string]string{"app": "web", "version": "v1"})

	k := switchSelector{}
	for _, c := range []struct{ selector, want string }{
		{`{ version = "v9" }`, "matches no pod"},
		{`{ version = "v3" }`, "none is ready"},
	} {
		_, err := k.Run(s.ctx, s.env, cfgOf(t, k, `
services = ["web", "api"]
selector = `+c.selector))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `service "web"`) || !strings.Contains(err.Error(), s.ns) {
			t.Fatalf("selector %s: want an error containing %q naming the service and namespace, got %v", c.selector, c.want, err)
		}
	}
	if n := s.nrecords(); n != 0 {
		t.Fatalf("the guard must fire before anything is journaled or written; %d records", n)
	}
	after, err := s.cl.Typed.CoreV1().Services(s.ns).Get(s.ctx, "web", metav1.GetOptions{})
	s.must(err)
	if after.ResourceVersion != before.ResourceVersion {
		t.Fatalf("service was written (resourceVersion %s -> %s)", before.ResourceVersion, after.ResourceVersion)
	}
	// allow_empty is the explicit way through.
	_, err = k.Run(s.ctx, s.env, cfgOf(t, k, `
service        = "web"
selector       = { version = "v9" }
allow_empty    = true
wait_endpoints = false`))
	s.must(err)

	_, err = k.Run(s.ctx, s.env, cfgOf(t, k, `
service  = "nope"
selector = { version = "v1" }`))
	if err == nil || !strings.Contains(err.Error(), `service "nope" not found in namespace "`+s.ns+`"`) {
		t.Fatalf("missing service: %v", err)
	}
}
