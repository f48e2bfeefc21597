package dataplane_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/cutoverhq/cutover/internal/loadgen"
	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/internal/testcluster/dataplane"
	"github.com/cutoverhq/cutover/internal/testcluster/podnet"
)

func TestMain(m *testing.M) { testcluster.Main(m, nil) }

// backend is a loopback server standing in for a pod: it answers with its
// version in X-Version and counts its requests.
type backend struct {
	srv     *httptest.Server
	version string
	hits    atomic.Int64
}

// It listens on a loopback address of the process pods' range (any free
// port), and its pod IP is what podnet maps that to.
func newBackend(t *testing.T, version string) *backend {
	b := &backend{version: version}
	l, err := net.Listen("tcp", "127.253.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		w.Header().Set(loadgen.VersionHeader, version)
		fmt.Fprintln(w, version)
	}))
	b.srv.Listener.Close()
	b.srv.Listener = l
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) port() int32 {
	_, p, _ := net.SplitHostPort(b.srv.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	return int32(n)
}

func (b *backend) podIP() string {
	h, _, _ := net.SplitHostPort(b.srv.Listener.Addr().String())
	return podnet.PodIP(h)
}

type env struct {
	t   *testing.T
	ctx context.Context
	ns  string
	cs  kubernetes.Interface
	dp  *dataplane.DataPlane
}

func setup(t *testing.T, prefix string) *env {
	ctx, ns, _ := testcluster.Namespace(t, prefix, 3*time.Minute)
	c := testcluster.Running()
	if c.DataPlane() == nil {
		t.Fatalf("the shared cluster runs no data plane ($%s=off?)", testcluster.EnvDataPlane)
	}
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, ns: ns, cs: cs, dp: c.DataPlane()}
}

// service creates a selectorless Service whose endpoints the test writes.
func (e *env) service(name string) {
	e.t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
	}}
	if _, err := e.cs.CoreV1().Services(e.ns).Create(e.ctx, svc, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// slice writes the EndpointSlice NAME of service svc with b as its one
// endpoint (a slice per backend: each has a port of its own).
func (e *env) slice(svc, name string, b *backend, ready, terminating bool) {
	e.t.Helper()
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(b.port())}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{b.podIP()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready), Serving: ptr.To(ready || terminating), Terminating: ptr.To(terminating)}}},
	}
	cur, err := e.cs.DiscoveryV1().EndpointSlices(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err == nil {
		s.ResourceVersion = cur.ResourceVersion
		_, err = e.cs.DiscoveryV1().EndpointSlices(e.ns).Update(e.ctx, s, metav1.UpdateOptions{})
	} else {
		_, err = e.cs.DiscoveryV1().EndpointSlices(e.ns).Create(e.ctx, s, metav1.CreateOptions{})
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// waitVersions polls url until every version in want has answered (and
// only those): the data plane has acted on the objects written.
func (e *env) waitVersions(url, host string, header http.Header, want ...string) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	seen := map[string]bool{}
	last := ""
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(e.ctx, http.MethodGet, url, nil)
		req.Host, req.Header = host, header.Clone()
		if req.Header == nil {
			req.Header = http.Header{}
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err.Error()
			time.Sleep(20 * time.Millisecond) // polling the proxy: nothing to watch
			continue
		}
		resp.Body.Close()
		v := resp.Header.Get(loadgen.VersionHeader)
		last = resp.Status + " " + v
		if resp.StatusCode != http.StatusOK {
			seen = map[string]bool{}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		seen[v] = true
		if len(seen) == len(want) {
			ok := true
			for _, w := range want {
				ok = ok && seen[w]
			}
			if ok {
				return
			}
		}
		if len(seen) > len(want) {
			seen = map[string]bool{v: true}
		}
	}
	e.t.Fatalf("%s (host %q) never answered with exactly %v; last: %s", url, host, want, last)
}

func (e *env) load(opts loadgen.Options) *loadgen.Run {
	e.t.Helper()
	r, err := loadgen.Start(e.ctx, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { r.Stop() })
	return r
}

// A Service's proxy spreads connections over its ready endpoints and stops
// sending to one taken out of its EndpointSlice after the propagation
// delay: a backend that keeps serving meanwhile (a preStop sleep) costs no
// request; one that stops at once (no preStop) costs requests, and only
// within the delay.
func TestServiceProxy(t *testing.T) {
	e := setup(t, "dp-proxy")
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	e.service("web")
	for _, be := range []*backend{a, b, c} {
		e.slice("web", "web-"+be.version, be, true, false)
	}
	addr, err := e.dp.WaitServiceAddr(e.ctx, e.ns, "web", "http")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr + "/"
	e.waitVersions(url, "", nil, "a", "b", "c")

	spread := e.load(loadgen.Options{URL: url, Rate: 200, Count: 600}).Wait()
	t.Logf("spread: %s", spread)
	if spread.Errors != 0 || spread.OK != 600 {
		t.Fatalf("spread: %d errors, %d ok of 600: %v", spread.Errors, spread.OK, spread.ErrorSamples)
	}
	for _, v := range []string{"a", "b", "c"} {
		if n := spread.Versions[v]; n < 150 || n > 250 {
			t.Errorf("backend %s got %d of 600 requests, want about 200", v, n)
		}
	}

	delay := e.dp.Delay()
	// c is taken out (terminating) but keeps serving, as with a preStop sleep.
	run := e.load(loadgen.Options{URL: url, Rate: 200, Duration: delay + 4*time.Second})
	time.Sleep(time.Second) // traffic before the change: part of the scenario, not a wait for a condition
	e.slice("web", "web-c", c, false, true)
	changed := time.Now()
	graceful := run.Wait()
	at := changed.Sub(graceful.Started).Seconds()
	t.Logf("c out at t=%.3fs (delay %s); c last answered at t=%.3fs; %s", at, delay, graceful.LastSeen["c"], graceful)
	if graceful.Errors != 0 {
		t.Errorf("a terminating endpoint still serving cost %d requests: %v", graceful.Errors, graceful.ErrorSamples)
	}
	if graceful.LastSeen["c"] <= at {
		t.Errorf("c answered last at t=%.3fs, before it was taken out (t=%.3fs): no propagation delay", graceful.LastSeen["c"], at)
	}
	if graceful.LastSeen["c"] > at+delay.Seconds()+1 {
		t.Errorf("c answered at t=%.3fs, more than the delay %s after it was taken out (t=%.3fs)", graceful.LastSeen["c"], delay, at)
	}

	// b stops at once when it is taken out: requests fail, during the delay only.
	run = e.load(loadgen.Options{URL: url, Rate: 200, Duration: delay + 4*time.Second})
	time.Sleep(time.Second)
	b.srv.Close()
	if err := e.cs.DiscoveryV1().EndpointSlices(e.ns).Delete(e.ctx, "web-b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	changed = time.Now()
	abrupt := run.Wait()
	at = changed.Sub(abrupt.Started).Seconds()
	t.Logf("b stopped at t=%.3fs: %s; errors by second: %v", at, abrupt, errorSeconds(abrupt))
	if abrupt.Errors == 0 {
		t.Errorf("a backend that stopped before the delay passed cost no request")
	}
	for _, s := range abrupt.Seconds {
		if s.Errors > 0 && float64(s.At) > at+delay.Seconds()+1 {
			t.Errorf("errors at second %d, after the delay had passed: %s", s.At, s)
		}
	}
	if abrupt.Versions["a"] == 0 || abrupt.Versions["b"] != 0 && abrupt.LastSeen["b"] > at+0.1 {
		t.Errorf("versions %v (b last at %.3fs)", abrupt.Versions, abrupt.LastSeen["b"])
	}
}

func errorSeconds(s *loadgen.Summary) map[int]int {
	out := map[int]int{}
	for _, sec := range s.Seconds {
		if sec.Errors > 0 {
			out[sec.At] = sec.Errors
		}
	}
	return out
}

// A canary Ingress (ingress-nginx annotations) weighted 20 gets 20±5 % of
// 1,000 requests through the router; by header, only the requests with
// the header reach it.
func TestRouterIngressCanary(t *testing.T) {
	e := setup(t, "dp-canary")
	v1a, v1b, v2 := newBackend(t, "v1"), newBackend(t, "v1"), newBackend(t, "v2")
	e.service("web-v1")
	e.service("web-v2")
	e.slice("web-v1", "web-v1-a", v1a, true, false)
	e.slice("web-v1", "web-v1-b", v1b, true, false)
	e.slice("web-v2", "web-v2", v2, true, false)
	pt := networkingv1.PathTypePrefix
	ing := func(name, svc string, ann map[string]string) *networkingv1.Ingress {
		return &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "web.example", IngressRuleValue: networkingv1.IngressRuleValue{
				HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pt,
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: 80}}}}}},
			}}}},
		}
	}
	ings := e.cs.NetworkingV1().Ingresses(e.ns)
	if _, err := ings.Create(e.ctx, ing("web", "web-v1", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	canary, err := ings.Create(e.ctx, ing("web-canary", "web-v2", map[string]string{
		"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "20"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + e.dp.RouterAddr() + "/"
	e.waitVersions(url, "web.example", nil, "v1", "v2")

	byWeight := e.load(loadgen.Options{URL: url, Host: "web.example", Rate: 200, Count: 1000}).Wait()
	share := 100 * byWeight.Share("v2")
	t.Logf("weight 20: v2 %.1f%%; %s", share, byWeight)
	if byWeight.Errors != 0 || byWeight.OK != 1000 {
		t.Fatalf("weight 20: %d errors, %d ok of 1000: %v", byWeight.Errors, byWeight.OK, byWeight.ErrorSamples)
	}
	if share < 15 || share > 25 {
		t.Errorf("weight 20: v2 got %.1f%% of 1000 requests, want 20±5", share)
	}
	if v1a.hits.Load() == 0 || v1b.hits.Load() == 0 {
		t.Errorf("the router used one v1 endpoint only: %d/%d", v1a.hits.Load(), v1b.hits.Load())
	}

	canary.Annotations = map[string]string{"nginx.ingress.kubernetes.io/canary": "true",
		"nginx.ingress.kubernetes.io/canary-by-header": "X-Canary", "nginx.ingress.kubernetes.io/canary-by-header-value": "yes"}
	if _, err := ings.Update(e.ctx, canary, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	withHeader := http.Header{"X-Canary": {"yes"}}
	e.waitUntilOnly(url, "web.example", withHeader, "v2")
	with := e.load(loadgen.Options{URL: url, Host: "web.example", Header: withHeader, Rate: 100, Count: 300})
	without := e.load(loadgen.Options{URL: url, Host: "web.example", Rate: 100, Count: 300})
	ws, wos := with.Wait(), without.Wait()
	t.Logf("by header: with %s; without %s", ws, wos)
	if ws.Errors != 0 || ws.Versions["v2"] != 300 {
		t.Errorf("with the header: %v, %d errors; want 300 v2", ws.Versions, ws.Errors)
	}
	if wos.Errors != 0 || wos.Versions["v1"] != 300 {
		t.Errorf("without the header: %v, %d errors; want 300 v1", wos.Versions, wos.Errors)
	}
}

// waitUntilOnly polls until 50 answers in a row come from version.
func (e *env) waitUntilOnly(url, host string, header http.Header, version string) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	streak := 0
	for streak < 50 {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s never answered only %s", url, version)
		}
		req, _ := http.NewRequestWithContext(e.ctx, http.MethodGet, url, nil)
		req.Host, req.Header = host, header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			streak = 0
			continue
		}
		resp.Body.Close()
		if resp.Header.Get(loadgen.VersionHeader) == version {
			streak++
		} else {
			streak = 0
			time.Sleep(10 * time.Millisecond)
		}
	}
}
