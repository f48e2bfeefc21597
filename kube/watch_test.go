package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

func flagCM(phase string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "flag", "namespace": "ns", "resourceVersion": "5"},
		"data":     map[string]any{"phase": phase},
	}}
}

var flagRef = Ref{APIVersion: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: "ns", Name: "flag"}

func phaseIs(want string) Condition {
	return func(obj *unstructured.Unstructured) (bool, string, error) {
		if obj == nil {
			return false, "absent", nil
		}
		p, _, _ := unstructured.NestedString(obj.Object, "data", "phase")
		return p == want, "phase " + p, nil
	}
}

// The server compacted past the listed resourceVersion: WaitFor lists again
// and goes on from the new state instead of failing.
func TestWaitForRelistsOnExpired(t *testing.T) {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{gvr: "ConfigMapList"}, flagCM("wait"))
	watches := 0
	dyn.PrependWatchReactor("configmaps", func(clienttesting.Action) (bool, watch.Interface, error) {
		watches++
		w := watch.NewFakeWithChanSize(2, false)
		if watches == 1 {
			w.Error(&apierrors.NewResourceExpired("too old resource version").ErrStatus)
		} else {
			w.Modify(flagCM("go"))
		}
		return true, w, nil
	})
	lists := 0
	dyn.PrependReactor("list", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
		lists++
		return true, listOf("10", flagCM("wait")), nil
	})
	var reports []string
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	obj, err := (&Clients{Dynamic: dyn}).WaitFor(ctx, flagRef, phaseIs("go"), func(m string) { reports = append(reports, m) })
	if err != nil {
		t.Fatal(err)
	}
	if p, _, _ := unstructured.NestedString(obj.Object, "data", "phase"); p != "go" {
		t.Errorf("returned phase %q", p)
	}
	if lists != 2 || watches != 2 {
		t.Errorf("lists = %d, watches = %d; want a relist after the expired watch", lists, watches)
	}
	if strings.Join(reports, ",") != "phase wait,phase go" {
		t.Errorf("reports = %q, want one per change of message", reports)
	}
}

func TestWaitForAbsentAndTimeout(t *testing.T) {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{gvr: "ConfigMapList"})
	dyn.PrependReactor("list", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, listOf("10"), nil
	})
	c := &Clients{Dynamic: dyn}
	// Absence is judged at once: WaitGone of a missing object returns.
	if err := c.WaitGone(context.Background(), flagRef, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.WaitFor(ctx, flagRef, phaseIs("go"), nil)
	if err == nil || !strings.Contains(err.Error(), "timed out waiting for configmap/flag in namespace ns; last seen: absent") {
		t.Errorf("err = %v", err)
	}
}

// listOf is a list as the API server sends it, with a resourceVersion (the
// fake client's own lists have none).
func listOf(rv string, items ...*unstructured.Unstructured) *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMapList"}}
	l.SetResourceVersion(rv)
	for _, i := range items {
		l.Items = append(l.Items, *i)
	}
	return l
}
