package dataplane

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// DefaultDelay is the propagation delay when Options.Delay is 0: the time
// between an EndpointSlice (or route) change and the proxies acting on it.
// Real clusters show about 1–2 s (the endpoint controller's batching, the
// watch, kube-proxy's sync period or the ingress controller's reload).
const DefaultDelay = 1500 * time.Millisecond

// Options configure Start.
type Options struct {
	// Config reaches the cluster's apiserver.
	Config *rest.Config
	// Delay is the propagation delay (0: DefaultDelay; negative: none).
	Delay time.Duration
	// AddrFile, when set, receives the addresses (JSON, see Addrs) each
	// time they change, written atomically.
	AddrFile string
	// Logf receives a line per change taking effect (nil: silent).
	Logf func(format string, args ...any)
}

// DataPlane is a running set of service proxies and the router.
type DataPlane struct {
	opts    Options
	delay   time.Duration
	logf    func(string, ...any)
	alloc   *allocator
	stop    chan struct{}
	stopped sync.Once

	factory    informers.SharedInformerFactory
	dynFactory dynamicinformer.DynamicSharedInformerFactory
	services   cache.Indexer
	slices     cache.Indexer
	pods       cache.Indexer
	ingresses  cache.Indexer
	crds       *crdRoutes

	eps    *delayed[serviceKey, serviceEndpoints]
	routes *delayed[int, *table]
	// svcs are the Services as the router sees them: delayed like the
	// routes, so a route and the Service it names change together (a
	// Service deleted just after the route left it is not missed).
	svcs *delayed[serviceKey, *corev1.Service]

	mu      sync.Mutex
	proxies map[serviceKey]*serviceProxy
	router  *router

	// addrFileMu serializes writeAddrs: Start and the Service informer's
	// handler both write the address file, and each write reads the
	// addresses while holding it, so the file renamed into place last
	// holds the newest state.
	addrFileMu sync.Mutex
}

// Start starts the data plane and returns once its informers have synced
// (the Services present have their proxies). It runs until Stop.
func Start(ctx context.Context, opts Options) (*DataPlane, error) {
	d := &DataPlane{opts: opts, delay: opts.Delay, logf: opts.Logf, alloc: newAllocator(),
		stop: make(chan struct{}), proxies: map[serviceKey]*serviceProxy{}}
	if d.delay == 0 {
		d.delay = DefaultDelay
	}
	if d.logf == nil {
		d.logf = func(string, ...any) {}
	}
	d.eps = newDelayed[serviceKey, serviceEndpoints](d.delay)
	d.eps.applied = func(k serviceKey) {
		eps, _ := d.eps.get(k)
		d.logf("dataplane: %s endpoints in effect: %s", k, eps)
	}
	d.routes = newDelayed[int, *table](d.delay)
	d.svcs = newDelayed[serviceKey, *corev1.Service](d.delay)
	cs, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	if d.router, err = startRouter(d); err != nil {
		return nil, err
	}
	d.factory = informers.NewSharedInformerFactory(cs, 0)
	d.dynFactory = dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0)
	svcInf := d.factory.Core().V1().Services().Informer()
	sliceInf := d.factory.Discovery().V1().EndpointSlices().Informer()
	podInf := d.factory.Core().V1().Pods().Informer()
	ingInf := d.factory.Networking().V1().Ingresses().Informer()
	d.services, d.slices, d.pods, d.ingresses = svcInf.GetIndexer(), sliceInf.GetIndexer(), podInf.GetIndexer(), ingInf.GetIndexer()
	_, _ = svcInf.AddEventHandler(handler(func(obj any) {
		if s, ok := obj.(*corev1.Service); ok {
			d.syncService(serviceKey{s.Namespace, s.Name})
		}
	}))
	_, _ = sliceInf.AddEventHandler(handler(func(obj any) {
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelServiceName] != "" {
			d.syncEndpoints(serviceKey{s.Namespace, s.Labels[discoveryv1.LabelServiceName]})
		}
	}))
	_, _ = ingInf.AddEventHandler(handler(func(any) { d.syncRoutes() }))
	d.crds = watchRouteCRDs(d.dynFactory, d.syncRoutes, d.stop)
	d.factory.Start(d.stop)
	d.dynFactory.Start(d.stop)
	for typ, ok := range d.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			d.Stop()
			return nil, fmt.Errorf("dataplane: %v informer did not sync: %v", typ, ctx.Err())
		}
	}
	d.writeAddrs()
	return d, nil
}

// handler calls fn on every add, update and delete.
func handler(fn func(obj any)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    fn,
		UpdateFunc: func(_, obj any) { fn(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			fn(obj)
		},
	}
}

// Delay is the propagation delay in use.
func (d *DataPlane) Delay() time.Duration { return max(d.delay, 0) }

// Stop stops the informers, the router and every proxy. Connections being
// spliced finish on their own.
func (d *DataPlane) Stop() {
	d.stopped.Do(func() {
		close(d.stop)
		d.factory.Shutdown()
		if d.router != nil {
			d.router.close()
		}
		d.mu.Lock()
		proxies := d.proxies
		d.proxies = map[serviceKey]*serviceProxy{}
		d.mu.Unlock()
		for _, p := range proxies {
			p.close()
		}
	})
}

// syncService starts, changes or removes a Service's proxy at once (a new
// Service's address must be known before its endpoints matter).
func (d *DataPlane) syncService(k serviceKey) {
	var ports []servicePort
	obj, exists, _ := d.services.GetByKey(k.String())
	svc, ok := obj.(*corev1.Service)
	d.svcs.set(k, svc, exists && ok)
	if exists && ok && svc.Spec.ClusterIP != corev1.ClusterIPNone && svc.Spec.Type != corev1.ServiceTypeExternalName {
		for _, p := range svc.Spec.Ports {
			if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
				ports = append(ports, servicePort{Name: p.Name, Port: p.Port})
			}
		}
	}
	d.mu.Lock()
	old := d.proxies[k]
	if old != nil && samePorts(old.ports, ports) {
		d.mu.Unlock()
		return
	}
	delete(d.proxies, k)
	d.mu.Unlock()
	if old != nil {
		old.close()
		d.alloc.release(old.ip)
	}
	if len(ports) > 0 {
		nums := make([]int32, len(ports))
		for i, p := range ports {
			nums[i] = p.Port
		}
		ip, ls, err := d.alloc.bind(nums)
		if err != nil {
			d.logf("dataplane: no proxy for %s: %v", k, err)
			return
		}
		p := &serviceProxy{key: k, ip: ip, ports: ports, listeners: ls, lookup: d.eps.get, logf: d.logf}
		d.mu.Lock()
		d.proxies[k] = p
		d.mu.Unlock()
		p.serve()
		d.logf("dataplane: %s proxied on %v", k, p.addrs())
	}
	d.writeAddrs()
}

func samePorts(a, b []servicePort) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// syncEndpoints reads a Service's EndpointSlices now; the proxies act on
// them after the delay.
func (d *DataPlane) syncEndpoints(k serviceKey) {
	objs, _ := d.slices.ByIndex(cache.NamespaceIndex, k.Namespace)
	var slices []*discoveryv1.EndpointSlice
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelServiceName] == k.Name {
			slices = append(slices, s)
		}
	}
	d.eps.set(k, endpointsOf(slices), true)
}

// ServiceAddr is the host:port of a Service's proxy for port (a port name
// or number; "" for its first port), if it is proxied.
func (d *DataPlane) ServiceAddr(namespace, name, port string) (string, bool) {
	return d.Addrs().Service(namespace, name, port)
}

// WaitServiceAddr waits until the Service is proxied and returns
// ServiceAddr.
func (d *DataPlane) WaitServiceAddr(ctx context.Context, namespace, name, port string) (string, error) {
	for {
		if a, ok := d.ServiceAddr(namespace, name, port); ok {
			return a, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("dataplane: service %s/%s port %q not proxied: %w", namespace, name, port, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// RouterAddr is the router's host:port.
func (d *DataPlane) RouterAddr() string { return d.router.addr }

// Addrs are the data plane's addresses, as written to Options.AddrFile.
type Addrs struct {
	Router string `json:"router"`
	Delay  string `json:"delay"`
	// Services maps "namespace/name" to its proxy's host:port by port
	// name and number ("" key: the first port).
	Services map[string]map[string]string `json:"services"`
}

// Addrs returns the addresses in use now.
func (d *DataPlane) Addrs() Addrs {
	a := Addrs{Router: d.RouterAddr(), Delay: d.Delay().String(), Services: map[string]map[string]string{}}
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, p := range d.proxies {
		m := p.addrs()
		m[""] = p.listeners[0].Addr().String()
		a.Services[k.String()] = m
	}
	return a
}

// Service looks a Service's proxy address up (see DataPlane.ServiceAddr).
func (a Addrs) Service(namespace, name, port string) (string, bool) {
	addr, ok := a.Services[namespace+"/"+name][port]
	return addr, ok
}

// ReadAddrs reads an address file written by a data plane.
func ReadAddrs(path string) (Addrs, error) {
	var a Addrs
	data, err := os.ReadFile(path)
	if err != nil {
		return a, err
	}
	return a, json.Unmarshal(data, &a)
}

// writeAddrs replaces the address file with the addresses in use now. A
// reader sees the previous file or this one, never a partial one: the
// document goes to a temporary file of its own, then is renamed over it.
func (d *DataPlane) writeAddrs() {
	if d.opts.AddrFile == "" {
		return
	}
	d.addrFileMu.Lock()
	defer d.addrFileMu.Unlock()
	data, err := json.MarshalIndent(d.Addrs(), "", "  ")
	if err == nil {
		err = replaceFile(d.opts.AddrFile, data)
	}
	if err != nil {
		d.logf("dataplane: address file not written: %v", err)
	}
}

// replaceFile writes data to a new temporary file beside path and renames
// it to path.
func replaceFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644) // CreateTemp's 0600: other users' tools read it
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// syncRoutes rebuilds the route table from every routing object now; the
// router acts on it after the delay.
func (d *DataPlane) syncRoutes() {
	ordered := virtualServiceRules(d.crds.list(gvrVirtualService), d.crds.list(gvrDestinationRule))
	specific := append(ingressRules(ingressList(d.ingresses)), httpRouteRules(d.crds.list(gvrHTTPRoute))...)
	d.routes.set(0, newTable(ordered, specific), true)
}

// podLabels are the labels of a pod the informer knows.
func (d *DataPlane) podLabels(namespace, name string) (labels.Set, bool) {
	obj, ok, _ := d.pods.GetByKey(namespace + "/" + name)
	if p, isPod := obj.(*corev1.Pod); ok && isPod {
		return p.Labels, true
	}
	return nil, false
}

// service returns a Service as the router sees it (the propagation delay).
func (d *DataPlane) service(k serviceKey) (*corev1.Service, error) {
	if svc, ok := d.svcs.get(k); ok {
		return svc, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("services"), k.String())
}

func (e serviceEndpoints) String() string {
	var names []string
	for n := range e {
		names = append(names, n)
	}
	sort.Strings(names)
	s := ""
	for _, n := range names {
		if s != "" {
			s += " "
		}
		s += fmt.Sprintf("%q:", n)
		for i, ep := range e[n] {
			if i > 0 {
				s += ","
			}
			s += ep.addr()
		}
	}
	if s == "" {
		return "none"
	}
	return s
}
