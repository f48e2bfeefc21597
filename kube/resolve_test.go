package kube

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/restmapper"
	clienttesting "k8s.io/client-go/testing"
)

// fakeMapper is the production mapper (deferred discovery over a memory
// cache) on top of a fake discovery whose resources a test can change.
func fakeMapper(t *testing.T) (*fakediscovery.FakeDiscovery, *restmapper.DeferredDiscoveryRESTMapper) {
	t.Helper()
	d := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}
	d.Resources = []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "services", SingularName: "service", Namespaced: true, Kind: "Service", ShortNames: []string{"svc"}},
			{Name: "namespaces", SingularName: "namespace", Kind: "Namespace"},
			{Name: "configmaps", SingularName: "configmap", Namespaced: true, Kind: "ConfigMap"},
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments", SingularName: "deployment", Namespaced: true, Kind: "Deployment"},
			{Name: "statefulsets", SingularName: "statefulset", Namespaced: true, Kind: "StatefulSet"},
			{Name: "replicasets", SingularName: "replicaset", Namespaced: true, Kind: "ReplicaSet"},
		}},
		{GroupVersion: "networking.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "ingresses", SingularName: "ingress", Namespaced: true, Kind: "Ingress"},
		}},
	}
	return d, restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(d))
}

func TestResolveKind(t *testing.T) {
	_, m := fakeMapper(t)
	cases := map[string]schema.GroupVersionResource{
		"Deployment":         {Group: "apps", Version: "v1", Resource: "deployments"},
		"deployment":         {Group: "apps", Version: "v1", Resource: "deployments"},
		"deployments":        {Group: "apps", Version: "v1", Resource: "deployments"},
		"deploy":             {Group: "apps", Version: "v1", Resource: "deployments"},
		"DEPLOY":             {Group: "apps", Version: "v1", Resource: "deployments"},
		"apps/v1/Deployment": {Group: "apps", Version: "v1", Resource: "deployments"},
		"deployments.apps":   {Group: "apps", Version: "v1", Resource: "deployments"},
		"sts":                {Group: "apps", Version: "v1", Resource: "statefulsets"},
		"rs":                 {Group: "apps", Version: "v1", Resource: "replicasets"},
		"svc":                {Version: "v1", Resource: "services"},
		"v1/Service":         {Version: "v1", Resource: "services"},
		"ing":                {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
		"Namespace":          {Version: "v1", Resource: "namespaces"},
	}
	for in, want := range cases {
		m, err := ResolveKind(m, in)
		if err != nil {
			t.Errorf("ResolveKind(%q): %v", in, err)
			continue
		}
		if m.Resource != want {
			t.Errorf("ResolveKind(%q) = %v, want %v", in, m.Resource, want)
		}
	}
	ns, _ := ResolveKind(m, "ns")
	if Namespaced(ns) {
		t.Error("namespaces resolved as namespaced")
	}
	dep, _ := ResolveKind(m, "deploy")
	if !Namespaced(dep) {
		t.Error("deployments resolved as cluster-scoped")
	}
}

func TestResolveKindErrors(t *testing.T) {
	_, m := fakeMapper(t)
	for _, in := range []string{"", "Widget", "a/b/c/d", "apps/v1/"} {
		if _, err := ResolveKind(m, in); err == nil {
			t.Errorf("ResolveKind(%q) succeeded, want an error", in)
		}
	}
	_, err := ResolveKind(m, "Widget")
	if err == nil || !strings.Contains(err.Error(), `"Widget"`) || !strings.Contains(err.Error(), "CRD") {
		t.Errorf("error %v should name the kind and suggest a missing CRD", err)
	}
}

// A CRD installed after the mapper cached discovery is found after a reset.
func TestResolveKindResetsOnMiss(t *testing.T) {
	d, m := fakeMapper(t)
	if _, err := ResolveKind(m, "Deployment"); err != nil { // fills the cache
		t.Fatal(err)
	}
	d.Resources = append(d.Resources, &metav1.APIResourceList{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
		{Name: "widgets", SingularName: "widget", Namespaced: true, Kind: "Widget"},
	}})
	got, err := ResolveKind(m, "Widget")
	if err != nil {
		t.Fatalf("after the CRD appeared: %v", err)
	}
	if got.Resource.Resource != "widgets" {
		t.Errorf("resource = %q", got.Resource.Resource)
	}
	if _, err := MappingFor(m, schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}); err != nil {
		t.Error(err)
	}
}
