package kube

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// shortNames are the abbreviations kubectl users type. Discovery also
// publishes short names, but resolving them through it would cost a full
// discovery round trip for the common case; these never change.
var shortNames = map[string]string{
	"deploy": "deployments",
	"rs":     "replicasets",
	"sts":    "statefulsets",
	"ds":     "daemonsets",
	"svc":    "services",
	"ing":    "ingresses",
	"cm":     "configmaps",
	"po":     "pods",
	"ns":     "namespaces",
	"sa":     "serviceaccounts",
	"hpa":    "horizontalpodautoscalers",
	"pdb":    "poddisruptionbudgets",
	"cj":     "cronjobs",
	"netpol": "networkpolicies",
	"pvc":    "persistentvolumeclaims",
	"crd":    "customresourcedefinitions",
	"ep":     "endpoints",
}

// ResolveKind maps what a pipeline author writes as a kind to a REST mapping.
// Accepted forms, case-insensitive where Kubernetes allows it:
//
//	Deployment, deployment, deployments, deploy   (kind, resource or short name)
//	deployments.apps, Deployment.apps             (qualified by group)
//	apps/v1/Deployment, v1/Service                (group/version/Kind)
//
// When the mapper does not know the kind it is reset (a CRD may have been
// installed a moment ago) and asked once more.
func ResolveKind(m meta.ResettableRESTMapper, kind string) (*meta.RESTMapping, error) {
	k := strings.TrimSpace(kind)
	if k == "" {
		return nil, fmt.Errorf("kind is empty; use a kind such as \"Deployment\" or \"apps/v1/Deployment\"")
	}
	mapping, err := resolveOnce(m, k)
	if meta.IsNoMatchError(err) {
		m.Reset()
		mapping, err = resolveOnce(m, k)
	}
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("kind %q is not served by the cluster (is its CRD installed?): %w", kind, err)
		}
		return nil, fmt.Errorf("resolving kind %q: %w", kind, err)
	}
	return mapping, nil
}

func resolveOnce(m meta.RESTMapper, k string) (*meta.RESTMapping, error) {
	// group/version/Kind or version/Kind: exact, as in a manifest.
	if gvk, exact, err := SplitKind(k); exact {
		if err != nil {
			return nil, err
		}
		if gvk.Kind == "" || gvk.Version == "" {
			return nil, fmt.Errorf("%q is not group/version/Kind", k)
		}
		return m.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	// kind.group or resource.group; otherwise a bare name.
	name, group, _ := strings.Cut(strings.ToLower(k), ".")
	if full, ok := shortNames[name]; ok {
		name = full
	}
	gvk, err := m.KindFor(schema.GroupVersionResource{Group: group, Resource: name})
	if err != nil {
		return nil, err
	}
	return m.RESTMapping(gvk.GroupKind(), gvk.Version)
}

// MappingFor maps a manifest's apiVersion and kind, resetting the mapper once
// on a miss for kinds whose CRD was applied moments before.
func MappingFor(m meta.ResettableRESTMapper, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	mapping, err := m.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		m.Reset()
		mapping, err = m.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("%s %s is not served by the cluster (is its CRD installed?)", gvk.GroupVersion(), gvk.Kind)
		}
		return nil, fmt.Errorf("mapping %s %s: %w", gvk.GroupVersion(), gvk.Kind, err)
	}
	return mapping, nil
}

// Namespaced reports whether objects of the mapping live in a namespace.
func Namespaced(m *meta.RESTMapping) bool {
	return m.Scope != nil && m.Scope.Name() == meta.RESTScopeNameNamespace
}

func kindLower(k string) string { return strings.ToLower(k) }

// SplitKind reads a kind written with its version, version/Kind or
// group/version/Kind, as in a manifest; exact is false for the other forms
// (Kind, resource, short name, resource.group).
func SplitKind(k string) (gvk schema.GroupVersionKind, exact bool, err error) {
	parts := strings.Split(k, "/")
	switch len(parts) {
	case 1:
		return gvk, false, nil
	case 2:
		return schema.FromAPIVersionAndKind(parts[0], parts[1]), true, nil
	case 3:
		return schema.GroupVersionKind{Group: parts[0], Version: parts[1], Kind: parts[2]}, true, nil
	}
	return gvk, true, fmt.Errorf("%q has too many slashes; use group/version/Kind", k)
}
