package analysis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/restmapper"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
	"github.com/cutoverhq/cutover/steps/workloads"
)

func init() {
	RegisterProvider(&Provider{
		Name:  "kubernetes",
		Order: 30,
		Doc: "Reads one object of the cluster per measurement. `result` is the object itself " +
			"(`result.status.readyReplicas`) with `object`, `pods` (those its selector matches), `ready_pods` and " +
			"`restarts` added; the counts are null for kinds without pods. It has no natural verdict: write a " +
			"condition (`result.ready_pods >= 3`). A missing object is an Error measurement, so a gate can wait for it.",
		AttrDocs: kubernetesDocs,
		Attrs:    steps.SpecFor[kubernetesConfig](),
		Check:    checkKubernetes,
		New: func(b cty.Value, env *steps.Env) (Measurer, error) {
			return newKubernetes(b, env)
		},
		ConditionExample: "result.ready_pods >= 3",
		Permissions:      kubernetesPermissions,
	})
}

// kubernetesProvider reads one object per measurement. result is the object
// itself (result.status.readyReplicas, result.metadata.generation, …) with
// convenience values added:
//
//	result.object      the whole object
//	result.pods        pods matched by the object's selector
//	result.ready_pods  of those, Ready and not terminating
//	result.restarts    sum of their containers' restartCount (init containers too)
//
// The pods are those of the object's spec.selector (a Deployment,
// ReplicaSet, StatefulSet, DaemonSet, Job or Service), or the object itself
// for a Pod; for other kinds the three counts are null. A missing object is
// an Error measurement, so a gate can wait for it through
// consecutive_error_limit.
type kubernetesProvider struct {
	kind, name, namespace, apiVersion string
	env                               *steps.Env
}

// kubernetesDocs describe kubernetesConfig's attributes in the reference.
var kubernetesDocs = map[string]string{
	"kind":        "The object's kind (`Deployment`, `StatefulSet`, `Pod`, `Service`, any kind the cluster serves).",
	"name":        "The object's name.",
	"namespace":   "The object's namespace (default: the run's).",
	"api_version": "The kind's API version when the kind alone is ambiguous (`apps/v1`, `example.com/v1`).",
}

// kubernetesConfig is a kubernetes block.
type kubernetesConfig struct {
	Kind       string  `hcl:"kind,required"`
	Name       string  `hcl:"name,required"`
	Namespace  string  `hcl:"namespace"`
	APIVersion *string `hcl:"api_version"`
}

func (c kubernetesConfig) apiVersion() string {
	if c.APIVersion == nil {
		return ""
	}
	return *c.APIVersion
}

func newKubernetes(b cty.Value, env *steps.Env) (*kubernetesProvider, error) {
	var c kubernetesConfig
	if _, err := steps.Decode(b, &c); err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	p := &kubernetesProvider{kind: c.Kind, name: c.Name, namespace: c.Namespace, apiVersion: c.apiVersion(), env: env}
	if p.kind == "" || p.name == "" {
		return nil, errors.New("kubernetes: kind and name must not be empty")
	}
	return p, nil
}

func checkKubernetes(b cty.Value, path []string) []steps.Problem {
	var c kubernetesConfig
	u, out := decodeAt(b, &c, path)
	for _, n := range []struct{ name, val string }{{"kind", c.Kind}, {"name", c.Name}} {
		if !u.Has(n.name) && n.val == "" {
			out = append(out, problem(path, n.name, "Empty "+n.name, n.name+" must not be empty."))
		}
	}
	if c.APIVersion != nil {
		if _, err := schema.ParseGroupVersion(*c.APIVersion); err != nil {
			out = append(out, problem(path, "api_version", "Invalid api_version",
				fmt.Sprintf("%q is not a group/version such as \"apps/v1\".", *c.APIVersion)))
		}
	}
	return out
}

// kubernetesPermissions: the provider reads the object it measures (get)
// and, for a workload, the pods its selector picks (list).
func kubernetesPermissions(env *steps.Env, k cty.Value, analysis string) ([]steps.Permission, error) {
	kind, note := "Deployment", " (kind not known without its variables: assumed Deployment)"
	var c kubernetesConfig
	u, _ := steps.Decode(k, &c)
	if !u.Has("kind") && c.Kind != "" {
		kind, note = c.Kind, ""
		if !u.Has("api_version") && c.APIVersion != nil {
			gv, err := schema.ParseGroupVersion(*c.APIVersion)
			if err != nil {
				return nil, fmt.Errorf("%s: api_version %q: %w", analysis, *c.APIVersion, err)
			}
			if gv.Group == "" {
				kind = gv.Version + "/" + kind
			} else {
				kind = gv.Group + "/" + gv.Version + "/" + kind
			}
		}
	}
	r, err := workloads.ResourceOf(env, kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", analysis, err)
	}
	why := strings.TrimSpace(fmt.Sprintf("%s measures %s %s", analysis, kind, c.Name)) + note
	assumed := note != ""
	out := []steps.Permission{{APIGroup: r.Group, Resource: r.Resource, Verbs: []string{"get"}, Why: why, Assumed: assumed}}
	if !(r.Group == "" && r.Resource == "pods") {
		out = append(out, steps.Permission{Resource: "pods", Verbs: []string{"list"}, Why: why + ": its pods", Assumed: assumed})
	}
	return out, nil
}

func (p *kubernetesProvider) Describe() string {
	s := fmt.Sprintf("kubernetes %s %s", p.kind, p.name)
	if p.namespace != "" {
		s += " in namespace " + p.namespace
	}
	return s
}

func (p *kubernetesProvider) Measure(ctx context.Context) (cty.Value, string, error) {
	c, err := p.env.Clients("the kubernetes provider")
	if err != nil {
		return cty.NilVal, "", err
	}
	ns := p.env.NamespaceFor(p.namespace, c)
	m, err := p.mapping(c)
	if err != nil {
		return cty.NilVal, "", err
	}
	ri := c.Dynamic.Resource(m.Resource)
	var obj *unstructured.Unstructured
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		obj, err = ri.Namespace(ns).Get(ctx, p.name, metav1.GetOptions{})
	} else {
		ns = ""
		obj, err = ri.Get(ctx, p.name, metav1.GetOptions{})
	}
	where := ""
	if ns != "" {
		where = fmt.Sprintf(" in namespace %q", ns)
	}
	if apierrors.IsNotFound(err) {
		return cty.NilVal, "", fmt.Errorf("%s %q not found%s", m.GroupVersionKind.Kind, p.name, where)
	}
	if err != nil {
		return cty.NilVal, "", fmt.Errorf("reading %s %q%s: %w", m.GroupVersionKind.Kind, p.name, where, err)
	}
	pods, err := c.PodsOf(ctx, obj)
	if err != nil {
		return cty.NilVal, "", fmt.Errorf("listing the pods of %s %q%s: %w", m.GroupVersionKind.Kind, p.name, where, err)
	}
	return kubeResult(obj, pods)
}

// mapping resolves kind ("Deployment", "deployments", "deploy",
// "deployments.apps") to a resource, refreshing discovery once for kinds
// that appeared since (a CRD installed by an earlier stage).
func (p *kubernetesProvider) mapping(c *kube.Clients) (*meta.RESTMapping, error) {
	resolve := func() (*meta.RESTMapping, error) {
		mapper := restmapper.NewShortcutExpander(c.Mapper, c.Discovery, func(string) {})
		if p.apiVersion != "" {
			gv, err := schema.ParseGroupVersion(p.apiVersion)
			if err != nil {
				return nil, err
			}
			if m, err := mapper.RESTMapping(gv.WithKind(p.kind).GroupKind(), gv.Version); err == nil {
				return m, nil
			}
		}
		gr := schema.ParseGroupResource(strings.ToLower(p.kind))
		gvr := gr.WithVersion("")
		if p.apiVersion != "" {
			gv, _ := schema.ParseGroupVersion(p.apiVersion)
			gvr = schema.GroupVersionResource{Group: gv.Group, Version: gv.Version, Resource: gr.Resource}
		}
		gvk, err := mapper.KindFor(gvr)
		if err != nil {
			return nil, err
		}
		return mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	m, err := resolve()
	if meta.IsNoMatchError(err) {
		c.Mapper.Reset()
		m, err = resolve()
	}
	if err != nil {
		return nil, fmt.Errorf("kind %q is not served by this cluster (%v); use a kind such as \"Deployment\", with api_version for custom resources", p.kind, err)
	}
	return m, nil
}

func kubeResult(obj *unstructured.Unstructured, pods []corev1.Pod) (cty.Value, string, error) {
	attrs := map[string]cty.Value{}
	object := steps.FromGo(obj.Object)
	for k, v := range object.AsValueMap() {
		attrs[k] = v
	}
	attrs["object"] = object
	short := fmt.Sprintf("%s %s", obj.GetKind(), obj.GetName())
	if pods == nil {
		attrs["pods"], attrs["ready_pods"], attrs["restarts"] = cty.NullVal(cty.Number), cty.NullVal(cty.Number), cty.NullVal(cty.Number)
	} else {
		ready, restarts := 0, int64(0)
		for i := range pods {
			if kube.PodReady(&pods[i]) {
				ready++
			}
			for _, cs := range append(pods[i].Status.InitContainerStatuses, pods[i].Status.ContainerStatuses...) {
				restarts += int64(cs.RestartCount)
			}
		}
		attrs["pods"] = cty.NumberIntVal(int64(len(pods)))
		attrs["ready_pods"] = cty.NumberIntVal(int64(ready))
		attrs["restarts"] = cty.NumberIntVal(restarts)
		short = fmt.Sprintf("ready %d/%d pods, %d restarts", ready, len(pods), restarts)
	}
	return cty.ObjectVal(attrs), short, nil
}
