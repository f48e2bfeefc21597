package workloads

import (
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// The API permissions of this package's kinds (steps.Permissioner), read off
// what Run and Undo call:
//
//   - every read of one object is a get; a wait lists (kube.WaitFor), or, after a write, watches from the write's resourceVersion and lists only when that version is too old (410)
//     and a watch of the resource, narrowed to the object by a field selector;
//   - server-side apply is a patch, and a create as well when the object is
//     new; kube.Restore puts an object back with update, re-creates it with
//     create and removes one the stage created with delete;
//   - scale reads and writes the scale subresource ("deployments/scale").
//
// Resolving a kind (discovery) needs no rule.

// Resource is an API resource as an RBAC rule names it.
type Resource struct {
	Group      string // "" is core
	Resource   string // plural, e.g. "deployments"
	Namespaced bool
	// Guessed is set when the resource name was derived from the kind by
	// English plural rules, neither the cluster nor the built-in table
	// knowing it.
	Guessed bool
	// Assumed is set when the kind itself is not known before the run (a
	// variable not given): the resource is a stand-in.
	Assumed bool
}

// builtin are the kinds cutover maps without a cluster, by group.
var builtin = []struct {
	group, kind, resource string
	short                 string
	namespaced            bool
}{
	{"", "Pod", "pods", "po", true},
	{"", "Service", "services", "svc", true},
	{"", "ConfigMap", "configmaps", "cm", true},
	{"", "Secret", "secrets", "", true},
	{"", "ServiceAccount", "serviceaccounts", "sa", true},
	{"", "PersistentVolumeClaim", "persistentvolumeclaims", "pvc", true},
	{"", "Endpoints", "endpoints", "ep", true},
	{"", "ReplicationController", "replicationcontrollers", "rc", true},
	{"", "LimitRange", "limitranges", "limits", true},
	{"", "ResourceQuota", "resourcequotas", "quota", true},
	{"", "Event", "events", "ev", true},
	{"", "Namespace", "namespaces", "ns", false},
	{"", "PersistentVolume", "persistentvolumes", "pv", false},
	{"", "Node", "nodes", "no", false},
	{"apps", "Deployment", "deployments", "deploy", true},
	{"apps", "StatefulSet", "statefulsets", "sts", true},
	{"apps", "DaemonSet", "daemonsets", "ds", true},
	{"apps", "ReplicaSet", "replicasets", "rs", true},
	{"apps", "ControllerRevision", "controllerrevisions", "", true},
	{"batch", "Job", "jobs", "", true},
	{"batch", "CronJob", "cronjobs", "cj", true},
	{"autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "hpa", true},
	{"policy", "PodDisruptionBudget", "poddisruptionbudgets", "pdb", true},
	{"networking.k8s.io", "Ingress", "ingresses", "ing", true},
	{"networking.k8s.io", "NetworkPolicy", "networkpolicies", "netpol", true},
	{"networking.k8s.io", "IngressClass", "ingressclasses", "", false},
	{"discovery.k8s.io", "EndpointSlice", "endpointslices", "", true},
	{"coordination.k8s.io", "Lease", "leases", "", true},
	{"rbac.authorization.k8s.io", "Role", "roles", "", true},
	{"rbac.authorization.k8s.io", "RoleBinding", "rolebindings", "", true},
	{"rbac.authorization.k8s.io", "ClusterRole", "clusterroles", "", false},
	{"rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", "", false},
	{"apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions", "crd", false},
	{"scheduling.k8s.io", "PriorityClass", "priorityclasses", "pc", false},
	{"storage.k8s.io", "StorageClass", "storageclasses", "sc", false},
	{"admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", "", false},
	{"admissionregistration.k8s.io", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", "", false},
	{"gateway.networking.k8s.io", "HTTPRoute", "httproutes", "", true},
	{"gateway.networking.k8s.io", "GRPCRoute", "grpcroutes", "", true},
	{"gateway.networking.k8s.io", "Gateway", "gateways", "", true},
	{"gateway.networking.k8s.io", "GatewayClass", "gatewayclasses", "", false},
	{"networking.istio.io", "VirtualService", "virtualservices", "vs", true},
	{"networking.istio.io", "DestinationRule", "destinationrules", "dr", true},
	{"networking.istio.io", "Gateway", "gateways", "gw", true},
	{"monitoring.coreos.com", "ServiceMonitor", "servicemonitors", "", true},
	{"monitoring.coreos.com", "PodMonitor", "podmonitors", "", true},
	{"monitoring.coreos.com", "PrometheusRule", "prometheusrules", "", true},
}

// ClusterScoped reports whether a resource of the built-in table lives
// outside namespaces, so a Role cannot grant it (a ClusterRole must).
func ClusterScoped(group, resource string) bool {
	for _, b := range builtin {
		if b.group == group && b.resource == resource {
			return !b.namespaced
		}
	}
	return false
}

// guessPlural derives a resource name from a kind as Kubernetes does for
// most custom resources: lower case, English plural.
func guessPlural(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(k, "s"), strings.HasSuffix(k, "x"), strings.HasSuffix(k, "ch"), strings.HasSuffix(k, "sh"):
		return k + "es"
	case strings.HasSuffix(k, "y") && len(k) > 1 && !strings.ContainsRune("aeiou", rune(k[len(k)-2])):
		return k[:len(k)-1] + "ies"
	}
	return k + "s"
}

// offlineGVK maps a manifest's group and kind by the built-in table, else by
// the plural rules (namespaced assumed, Guessed set).
func offlineGVK(gk schema.GroupKind) Resource {
	for _, b := range builtin {
		if b.group == gk.Group && b.kind == gk.Kind {
			return Resource{Group: b.group, Resource: b.resource, Namespaced: b.namespaced}
		}
	}
	return Resource{Group: gk.Group, Resource: guessPlural(gk.Kind), Namespaced: true, Guessed: true}
}

// offlineKind maps a kind as a pipeline author writes it (see
// kube.ResolveKind: Kind, resource, short name, resource.group,
// group/version/Kind) by the built-in table.
func offlineKind(kind string) (Resource, error) {
	k := strings.TrimSpace(kind)
	if gvk, exact, err := kube.SplitKind(k); exact {
		if err != nil {
			return Resource{}, err
		}
		return offlineGVK(gvk.GroupKind()), nil
	}
	name, group, qualified := strings.Cut(strings.ToLower(k), ".")
	for _, b := range builtin {
		if qualified && b.group != group {
			continue
		}
		if name == strings.ToLower(b.kind) || name == b.resource || (b.short != "" && name == b.short) {
			return Resource{Group: b.group, Resource: b.resource, Namespaced: b.namespaced}, nil
		}
	}
	if qualified {
		// resource.group of a custom resource: the resource is as written.
		return Resource{Group: group, Resource: name, Namespaced: true, Guessed: !strings.HasSuffix(name, "s")}, nil
	}
	return Resource{}, fmt.Errorf("kind %q is not one cutover knows without a cluster; run `cutover rbac` with a kubeconfig, or write it as resource.group (e.g. rollouts.argoproj.io) or group/version/Kind", kind)
}

// ResourceOf maps a kind as written in a step to its resource: through the
// cluster's RESTMapper when env has a cluster that answers, else through the
// built-in table. It is what `cutover rbac` uses for every kind a step names.
func ResourceOf(env *steps.Env, kind string) (Resource, error) {
	if c, err := env.Clients("rbac"); err == nil {
		if m, err := kube.ResolveKind(c.Mapper, kind); err == nil {
			return Resource{Group: m.Resource.Group, Resource: m.Resource.Resource, Namespaced: kube.Namespaced(m)}, nil
		}
	}
	return offlineKind(kind)
}

// resourceOfGVK maps a manifest's apiVersion and kind.
func resourceOfGVK(env *steps.Env, gvk schema.GroupVersionKind) Resource {
	if c, err := env.Clients("rbac"); err == nil {
		if m, err := kube.MappingFor(c.Mapper, gvk); err == nil {
			return Resource{Group: m.Resource.Group, Resource: m.Resource.Resource, Namespaced: kube.Namespaced(m)}
		}
	}
	return offlineGVK(gvk.GroupKind())
}

// perm builds a Permission, noting a guessed resource name in Why.
func perm(r Resource, why string, verbs ...string) steps.Permission {
	if r.Guessed {
		why += " (resource name guessed from the kind; check `kubectl api-resources`)"
	}
	return steps.Permission{APIGroup: r.Group, Resource: r.Resource, Verbs: verbs, Why: why, Assumed: r.Assumed}
}

// sub is r's subresource (deployments/scale).
func sub(r Resource, name string) Resource {
	r.Resource += "/" + name
	return r
}

// rolloutPods is the pods of a workload whose rollout a step or its undo
// waits for: the wait lists and watches them to name a pod the scheduler
// cannot place (docs/design.md, "Rollout waits"); without the rule it goes
// on blind to why.
func rolloutPods(what string, assumed bool) steps.Permission {
	return perm(Resource{Resource: "pods", Namespaced: true, Assumed: assumed}, "name the pods that keep the rollout of "+what+" waiting (Pending, not ready)", "list", "watch")
}

// hasRolloutKind says whether a wait on r follows a rollout (kube.HasRollout).
func hasRolloutKind(r Resource) bool {
	if r.Group != "apps" {
		return false
	}
	switch r.Resource {
	case "deployments", "statefulsets", "daemonsets", "replicasets":
		return true
	}
	return false
}

// Permissions of deploy: for each object of the manifests, what apply and
// undo need (get to record it, patch and create to apply it, update, create
// and delete to put it back); list and watch where the step waits for a
// rollout; the CRDs' establishment wait.
func (deployKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	var out []steps.Permission
	dc := newDeployConfig()
	u, _ := steps.Decode(cfg, &dc)
	unknown := u.Has("manifests", "chart", "kustomize", "namespace")
	var ms []kube.Manifest
	if !unknown {
		var err error
		dir := ""
		if env != nil {
			dir = env.Dir
		}
		if ms, _, err = dc.objects(dir, env.NamespaceFor(dc.Namespace, nil), ""); err != nil {
			return nil, fmt.Errorf("deploy: %w", err)
		}
	}
	for _, mf := range ms {
		obj := mf.Object
		gvk := obj.GroupVersionKind()
		r := resourceOfGVK(env, gvk)
		what := fmt.Sprintf("%s %s", obj.GetKind(), obj.GetName())
		out = append(out, perm(r, "apply "+what+"; undo restores or deletes it", "get", "create", "patch", "update", "delete"))
		if hasRolloutKind(r) {
			// Even with wait = false: the first Deployment is watched until
			// its controller has seen the spec, and undo always waits for
			// a restored workload to roll out.
			out = append(out, perm(r, "wait for the rollout of "+what, "list", "watch"), rolloutPods(what, false))
		}
		if r.Group == "apiextensions.k8s.io" && r.Resource == "customresourcedefinitions" {
			out = append(out, perm(r, "wait until CRD "+obj.GetName()+" is established", "list", "watch"))
		}
	}
	if unknown {
		// What the manifests hold is not known before the run: the usual
		// workload, its Service and its configuration.
		why := "manifests not known without their variables: assumed a Deployment, a Service and a ConfigMap; give the variables for an exact Role"
		out = append(out,
			perm(Resource{Group: "apps", Resource: "deployments", Assumed: true}, why, "get", "create", "patch", "update", "delete", "list", "watch"),
			perm(Resource{Resource: "services", Assumed: true}, why, "get", "create", "patch", "update", "delete"),
			perm(Resource{Resource: "configmaps", Assumed: true}, why, "get", "create", "patch", "update", "delete"),
			rolloutPods("the assumed Deployment", true))
	}
	return out, nil
}

// kindResource resolves the kind attribute of a step; when it is not known
// yet, Deployments stand in and why says so.
func kindResource(env *steps.Env, kind string, known bool) (Resource, string, error) {
	if !known {
		return Resource{Group: "apps", Resource: "deployments", Namespaced: true, Assumed: true}, " (kind not known without its variables: assumed Deployment)", nil
	}
	r, err := ResourceOf(env, kind)
	return r, "", err
}

// Permissions of scale: the scale subresource read and patched (by the run
// and by the undo), and a watch of the workload until its pods follow, with
// its pods followed to name one that does not get ready (kube.Stuck).
func (scaleKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	sc := newScaleConfig()
	u, _ := steps.Decode(cfg, &sc)
	r, note, err := kindResource(env, sc.Kind, !u.Has("kind"))
	if err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	return []steps.Permission{
		perm(sub(r, "scale"), "read and set the replica count; undo sets it back"+note, "get", "patch"),
		perm(r, "wait for the replicas to follow"+note, "list", "watch"),
		perm(Resource{Resource: "pods", Namespaced: true, Assumed: r.Assumed}, "name the pods that keep the replicas from being ready, and why (Pending, crash-looping, not ready)"+note, "list", "watch"),
	}, nil
}

// Permissions of patch: read and patch the object; undo replaces it whole
// with what was recorded and waits for a workload's rollout.
func (patchKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	pc := newPatchConfig()
	u, _ := steps.Decode(cfg, &pc)
	r, note, err := kindResource(env, pc.Kind, !u.Has("kind"))
	if err != nil {
		return nil, fmt.Errorf("patch: %w", err)
	}
	out := []steps.Permission{perm(r, "record and patch the object; undo restores it"+note, "get", "patch", "update")}
	if hasRolloutKind(r) {
		out = append(out, perm(r, "undo waits for the restored rollout"+note, "list", "watch"), rolloutPods("the restored object", r.Assumed))
	}
	return out, nil
}

// Permissions of delete: read, delete and (unless wait = false) watch the
// object go; undo re-creates it.
func (deleteKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	dc := newDeleteConfig()
	u, _ := steps.Decode(cfg, &dc)
	r, note, err := kindResource(env, dc.Kind, !u.Has("kind"))
	if err != nil {
		return nil, fmt.Errorf("delete: %w", err)
	}
	out := []steps.Permission{perm(r, "record and delete the object; undo re-creates it"+note, "get", "delete", "create", "update")}
	if hasRolloutKind(r) || u.Has("wait") || dc.Wait {
		out = append(out, perm(r, "wait for the deletion (and, on undo, the rollout)"+note, "list", "watch"))
	}
	if hasRolloutKind(r) {
		out = append(out, rolloutPods("the re-created object, on undo", r.Assumed))
	}
	return out, nil
}

// Permissions of rollback: the Deployment read, patched back to an older
// template and watched; its ReplicaSets listed to find that template.
func (rollbackKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	d := Resource{Group: "apps", Resource: "deployments", Namespaced: true}
	return []steps.Permission{
		perm(d, "roll the Deployment back and wait for the rollout", "get", "patch", "list", "watch"),
		perm(Resource{Group: "apps", Resource: "replicasets", Namespaced: true}, "find the revision to roll back to", "list"),
		rolloutPods("the Deployment", false),
	}, nil
}

// Permissions of wait: a resource wait lists and watches the object (a dry
// run reads it once); a duration needs nothing.
func (waitKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	var c waitConfig
	u, _ := steps.Decode(cfg, &c)
	if c.Resource == nil && !u.Has("resource") {
		return nil, nil
	}
	kind := ""
	if c.Resource != nil {
		kind = c.Resource.Kind
	}
	r, note, err := kindResource(env, kind, !u.Has("resource.kind"))
	if err != nil {
		return nil, fmt.Errorf("wait: %w", err)
	}
	out := []steps.Permission{perm(r, "wait for the object"+note, "get", "list", "watch")}
	if (c.Rollout != nil && *c.Rollout) || u.Has("rollout") {
		out = append(out, rolloutPods("the object", r.Assumed || u.Has("rollout")))
	}
	return out, nil
}
