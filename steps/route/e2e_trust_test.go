package route

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutoverhq/cutover/steps"
)

// After the switch a person re-points the selector (a hotfix): the undo
// leaves it, says so in a DriftError naming the Service, and --force puts
// the recorded selector back.
func TestE2ESwitchSelectorUndoLeavesAPersonsChange(t *testing.T) {
	s := newScenario(t)
	s.deployment("v1", 1, nil)
	s.deployment("v2", 1, nil)
	s.deployment("v3", 1, nil)
	blue := s.waitReadyPods("app=web,version=v1", 1)
	s.waitReadyPods("app=web,version=v2", 1)
	hotfix := s.waitReadyPods("app=web,version=v3", 1)
	s.service("web", map[string]string{"app": "web", "version": "v1"})

	k := switchSelector{}
	cfg := cfgOf(t, k, `
service  = "web"
selector = { version = "v2" }`)
	_, err := k.Run(s.ctx, s.env, cfg)
	s.must(err)
	svcs := s.cl.Typed.CoreV1().Services(s.ns)
	svc, err := svcs.Get(s.ctx, "web", metav1.GetOptions{})
	s.must(err)
	svc.Spec.Selector = map[string]string{"app": "web", "version": "v3"}
	_, err = svcs.Update(s.ctx, svc, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
	s.must(err)

	env := *s.env
	env.Config = cfg
	recs := s.takeRecords()
	err = k.Undo(s.ctx, &env, recs)
	var de *steps.DriftError
	if !errors.As(err, &de) || len(de.Changed) != 1 || !strings.Contains(de.Changed[0], "service/web in namespace "+s.ns+": selector changed since this run set it") {
		t.Fatalf("err = %v, want a DriftError naming service/web", err)
	}
	if steps.IsRetryable(err) {
		t.Error("a drift must not be retried")
	}
	got, err := svcs.Get(s.ctx, "web", metav1.GetOptions{})
	s.must(err)
	if got.Spec.Selector["version"] != "v3" {
		t.Fatalf("the person's selector was overwritten: %v", got.Spec.Selector)
	}
	s.waitEndpointPods("web", hotfix)

	env.Force = true
	s.must(k.Undo(s.ctx, &env, recs))
	got, err = svcs.Get(s.ctx, "web", metav1.GetOptions{})
	s.must(err)
	if want := map[string]string{"app": "web", "version": "v1"}; !reflect.DeepEqual(got.Spec.Selector, want) {
		t.Fatalf("selector after --force = %v, want %v", got.Spec.Selector, want)
	}
	s.waitEndpointPods("web", blue)
}

// A Service without a selector has endpoints written by hand (here an
// EndpointSlice for an outside database): switch_selector refuses it and
// writes nothing, so the hand-made endpoints stay.
func TestE2ESwitchSelectorRefusesServiceWithoutSelector(t *testing.T) {
	s := newScenario(t)
	s.deployment("v2", 1, nil)
	s.waitReadyPods("app=web,version=v2", 1)
	before := s.service("db", nil)
	ready := true
	port, proto := int32(5432), corev1.ProtocolTCP
	_, err := s.cl.Typed.DiscoveryV1().EndpointSlices(s.ns).Create(s.ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "db-outside", Labels: map[string]string{discoveryv1.LabelServiceName: "db"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.9.9.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Port: &port, Protocol: &proto}},
	}, metav1.CreateOptions{})
	s.must(err)

	k := switchSelector{}
	cfg := cfgOf(t, k, `
service  = "db"
selector = { app = "web", version = "v2" }`)
	_, err = k.Run(s.ctx, s.env, cfg)
	if err == nil || !strings.Contains(err.Error(), "service/db in namespace \""+s.ns+"\" has no selector: its endpoints are managed by hand; switch_selector would start selecting pods") {
		t.Fatalf("err = %v", err)
	}
	if n := s.nrecords(); n != 0 {
		t.Fatalf("%d records journaled; want none", n)
	}
	after, err := s.cl.Typed.CoreV1().Services(s.ns).Get(s.ctx, "db", metav1.GetOptions{})
	s.must(err)
	if after.ResourceVersion != before.ResourceVersion || len(after.Spec.Selector) != 0 {
		t.Fatalf("the service was written: selector %v", after.Spec.Selector)
	}
	plan, err := k.Plan(s.ctx, s.env, cfg)
	s.must(err)
	if !strings.Contains(plan, "would be refused") {
		t.Fatalf("plan = %q, want it to say the switch would be refused", plan)
	}
}
