package route

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// The e2e tests share one real control plane per test binary (etcd,
// kube-apiserver, controller-manager, scheduler, kwok); TestMain stops it.
func TestMain(m *testing.M) { testcluster.Main(m, nil) }

// scenario is one e2e test's namespace, clients and step environment. The
// records the steps journal are kept, in order, for Undo.
type scenario struct {
	t   testing.TB
	ctx context.Context
	ns  string
	cl  *kube.Clients
	env *steps.Env

	mu      sync.Mutex
	records []json.RawMessage
}

func newScenario(t testing.TB) *scenario {
	t.Helper()
	ctx, ns, kubeconfig := testcluster.Namespace(t, "route", 3*time.Minute)
	cluster := kube.New(kube.Options{Kubeconfig: kubeconfig})
	cl, err := cluster.Clients()
	if err != nil {
		t.Fatal(err)
	}
	s := &scenario{t: t, ctx: ctx, ns: ns, cl: cl}
	s.env = &steps.Env{
		Pipeline: "e2e", Stage: t.Name(), RunID: "e2e", Attempt: 1, Namespace: ns, Cluster: cluster,
		Progress: func(msg string) { t.Logf("progress: %s", msg) },
		Capture: func(r any) error {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			s.mu.Lock()
			s.records = append(s.records, b)
			s.mu.Unlock()
			return nil
		},
	}
	// Notes go with the records, as the engine journals them.
	s.env.Note = func(r any) {
		if err := s.env.Capture(r); err != nil {
			t.Error(err)
		}
	}
	return s
}

// takeRecords returns the journaled records and forgets them.
func (s *scenario) takeRecords() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records
	s.records = nil
	return r
}

func (s *scenario) nrecords() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// deployment creates app=web,version=VERSION with n replicas (annotations go
// on the pod template, for kwok's ready-delay / never-ready).
func (s *scenario) deployment(version string, n int32, podAnnotations map[string]string) *appsv1.Deployment {
	s.t.Helper()
	lbl := map[string]string{"app": "web", "version": version}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + version},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: podTemplate(lbl, podAnnotations),
		},
	}
	d, err := s.cl.Typed.AppsV1().Deployments(s.ns).Create(s.ctx, d, metav1.CreateOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	return d
}

func podTemplate(lbl, ann map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: lbl, Annotations: ann},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "registry.example/web:test",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		}}},
	}
}

func (s *scenario) service(name string, selector map[string]string) *corev1.Service {
	s.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{
			Name: "http", Port: 80, TargetPort: intstr.FromString("http"),
		}}},
	}
	svc, err := s.cl.Typed.CoreV1().Services(s.ns).Create(s.ctx, svc, metav1.CreateOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	return svc
}

// waitReadyPods watches until n pods matching selector are Ready and
// returns their names.
func (s *scenario) waitReadyPods(selector string, n int) []string {
	s.t.Helper()
	var names []string
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			return s.cl.Typed.CoreV1().Pods(s.ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			return s.cl.Typed.CoreV1().Pods(s.ns).Watch(ctx, o)
		},
	}
	ready := map[string]bool{}
	_, err := watchtools.UntilWithSync(s.ctx, lw, &corev1.Pod{}, nil, func(e watch.Event) (bool, error) {
		p, ok := e.Object.(*corev1.Pod)
		if !ok {
			return false, nil
		}
		if e.Type == watch.Deleted || !kube.PodReady(p) {
			delete(ready, p.Name)
		} else {
			ready[p.Name] = true
		}
		return len(ready) >= n, nil
	})
	if err != nil {
		s.t.Fatalf("waiting for %d ready pods with %s in %s: %v (ready: %v)", n, selector, s.ns, err, ready)
	}
	for p := range ready {
		names = append(names, p)
	}
	sort.Strings(names)
	return names
}

// readyEndpointPods lists the pods behind the ready endpoints of a Service
// now, from its EndpointSlices.
func (s *scenario) readyEndpointPods(svc string) []string {
	s.t.Helper()
	sl, err := s.cl.Typed.DiscoveryV1().EndpointSlices(s.ns).List(s.ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		s.t.Fatal(err)
	}
	return endpointPods(sl.Items)
}

func endpointPods(items []discoveryv1.EndpointSlice) []string {
	var out []string
	for _, x := range items {
		for _, ep := range x.Endpoints {
			if (ep.Conditions.Ready == nil || *ep.Conditions.Ready) && ep.TargetRef != nil {
				out = append(out, ep.TargetRef.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// waitEndpointPods watches the Service's EndpointSlices until its ready
// endpoints are exactly the pods in want.
func (s *scenario) waitEndpointPods(svc string, want []string) {
	s.t.Helper()
	sel := discoveryv1.LabelServiceName + "=" + svc
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel
			return s.cl.Typed.DiscoveryV1().EndpointSlices(s.ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel
			return s.cl.Typed.DiscoveryV1().EndpointSlices(s.ns).Watch(ctx, o)
		},
	}
	slices := map[string]discoveryv1.EndpointSlice{}
	var got []string
	_, err := watchtools.UntilWithSync(s.ctx, lw, &discoveryv1.EndpointSlice{}, nil, func(e watch.Event) (bool, error) {
		x, ok := e.Object.(*discoveryv1.EndpointSlice)
		if !ok {
			return false, nil
		}
		if e.Type == watch.Deleted {
			delete(slices, x.Name)
		} else {
			slices[x.Name] = *x
		}
		var items []discoveryv1.EndpointSlice
		for _, v := range slices {
			items = append(items, v)
		}
		got = endpointPods(items)
		return strings.Join(got, ",") == strings.Join(want, ","), nil
	})
	if err != nil {
		s.t.Fatalf("service %s: ready endpoints %v, want %v: %v", svc, got, want, err)
	}
}

func (s *scenario) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

func fmtMap(m map[string]string) string { return fmt.Sprint(m) }
