package dataplane

import (
	"sort"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// The routing CRDs the router reads, by CRD name. They may be installed
// after the data plane started (tests install them from the routers'
// modules), so the router watches CustomResourceDefinitions and starts an
// informer once one of these is Established.
var (
	gvrHTTPRoute       = schema.GroupResource{Group: "gateway.networking.k8s.io", Resource: "httproutes"}
	gvrVirtualService  = schema.GroupResource{Group: "networking.istio.io", Resource: "virtualservices"}
	gvrDestinationRule = schema.GroupResource{Group: "networking.istio.io", Resource: "destinationrules"}
	crdGVR             = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

type crdRoutes struct {
	factory dynamicinformer.DynamicSharedInformerFactory
	onEvent func()
	stop    <-chan struct{}
	mu      sync.Mutex
	stores  map[schema.GroupResource]cache.Indexer
}

func watchRouteCRDs(f dynamicinformer.DynamicSharedInformerFactory, onEvent func(), stop <-chan struct{}) *crdRoutes {
	c := &crdRoutes{factory: f, onEvent: onEvent, stop: stop, stores: map[schema.GroupResource]cache.Indexer{}}
	inf := f.ForResource(crdGVR).Informer()
	seen := func(obj any) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			c.crdSeen(u)
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: seen, UpdateFunc: func(_, o any) { seen(o) }})
	return c
}

// crdSeen starts the informer of a routing CRD once it is Established, for
// its storage version.
func (c *crdRoutes) crdSeen(u *unstructured.Unstructured) {
	gr := schema.GroupResource{Group: str(u.Object, "spec", "group"), Resource: str(u.Object, "spec", "names", "plural")}
	if gr != gvrHTTPRoute && gr != gvrVirtualService && gr != gvrDestinationRule {
		return
	}
	established := false
	for _, cond := range objs(u.Object, "status", "conditions") {
		established = established || (str(cond, "type") == "Established" && str(cond, "status") == "True")
	}
	version := ""
	for _, v := range objs(u.Object, "spec", "versions") {
		if b, _ := v["storage"].(bool); b {
			version = str(v, "name")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !established || version == "" || c.stores[gr] != nil {
		return
	}
	inf := c.factory.ForResource(gr.WithVersion(version)).Informer()
	_, _ = inf.AddEventHandler(handler(func(any) { c.onEvent() }))
	c.stores[gr] = inf.GetIndexer()
	go c.factory.Start(c.stop) // not from the handler's goroutine: Start takes the factory's lock
}

// list returns the objects of a routing resource (none before its CRD),
// sorted by namespace and name.
func (c *crdRoutes) list(gr schema.GroupResource) []*unstructured.Unstructured {
	c.mu.Lock()
	store := c.stores[gr]
	c.mu.Unlock()
	if store == nil {
		return nil
	}
	var out []*unstructured.Unstructured
	for _, o := range store.List() {
		if u, ok := o.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].GetNamespace()+"/"+out[i].GetName() < out[j].GetNamespace()+"/"+out[j].GetName()
	})
	return out
}

func ingressList(store cache.Indexer) []*networkingv1.Ingress {
	var out []*networkingv1.Ingress
	for _, o := range store.List() {
		if ing, ok := o.(*networkingv1.Ingress); ok {
			out = append(out, ing)
		}
	}
	return out
}
