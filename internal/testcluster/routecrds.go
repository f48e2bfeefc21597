package testcluster

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// routeCRDs are stand-ins for the Gateway API and Istio CRDs the traffic
// routers write, so the canary-gateway and canary-istio pipelines run on a
// dev cluster (make cluster-up) as on the scenarios' clusters, which apply
// the same stand-ins themselves.
//
//go:embed routecrds.yaml
var routeCRDs []byte

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallRouteCRDs applies the routing CRD stand-ins and waits until the
// apiserver serves them (Established).
func (c *Cluster) InstallRouteCRDs(ctx context.Context) error {
	dc, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	objs, err := decodeManifests(routeCRDs)
	if err != nil {
		return err
	}
	ri := dc.Resource(crdResource)
	want := map[string]bool{}
	for _, u := range objs {
		data, err := u.MarshalJSON()
		if err != nil {
			return err
		}
		if _, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data,
			metav1.PatchOptions{FieldManager: FieldManager, Force: ptr.To(true)}); err != nil {
			return fmt.Errorf("testcluster: CRD %s: %w", u.GetName(), err)
		}
		want[u.GetName()] = true
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return ri.Watch(ctx, o)
		},
	}
	err = until(ctx, lw, func(objs []runtime.Object) (bool, error) {
		n := 0
		for _, o := range objs {
			u := o.(*unstructured.Unstructured)
			if want[u.GetName()] && established(u) {
				n++
			}
		}
		return n == len(want), nil
	})
	if err != nil {
		return fmt.Errorf("testcluster: routing CRDs not Established: %w", err)
	}
	return nil
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
