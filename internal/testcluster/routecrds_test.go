package testcluster

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// The routing CRD stand-ins that cluster-up installs are served: an
// HTTPRoute, a VirtualService and a DestinationRule can be created, as the
// traffic routers create them. Installing twice is harmless (cluster-up on
// a cluster that has them).
func TestRouteCRDsServed(t *testing.T) {
	t.Parallel()
	ctx, ns, _ := Namespace(t, "route-crds", time.Minute)
	c := Running()
	for range 2 {
		if err := c.InstallRouteCRDs(ctx); err != nil {
			t.Fatal(err)
		}
	}
	dc, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	for kind, gvr := range map[string]schema.GroupVersionResource{
		"HTTPRoute":       {Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"},
		"VirtualService":  {Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"},
		"DestinationRule": {Group: "networking.istio.io", Version: "v1", Resource: "destinationrules"},
	} {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": gvr.GroupVersion().String(),
			"kind":       kind,
			"metadata":   map[string]any{"name": "demo"},
			"spec":       map[string]any{"hosts": []any{"demo"}},
		}}
		if _, err := dc.Resource(gvr).Namespace(ns).Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Errorf("%s: %v", gvr.Resource, err)
		}
	}
}
