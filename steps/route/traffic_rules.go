package route

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// resourceRef is a GroupVersionResource in a form that survives the journal.
type resourceRef struct {
	Group    string `json:"group"`
	Version  string `json:"version"`
	Resource string `json:"resource"`
}

func (r resourceRef) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource}
}

// rulesTarget says where a router keeps the rules the step rewrites.
type rulesTarget struct {
	resource string // resource.group for kube.ResolveKind
	kind     string // for messages
	field    string // the list under spec
	crd      string // what to install when the cluster does not serve it
}

var ruleTargets = map[string]rulesTarget{
	routerGateway: {"httproutes.gateway.networking.k8s.io", "httproute", "rules", "the Gateway API CRDs (gateway.networking.k8s.io)"},
	routerIstio:   {"virtualservices.networking.istio.io", "virtualservice", "http", "Istio's CRDs (networking.istio.io)"},
}

// rewriteFor applies the router's rewrite of the rule list.
func rewriteFor(s trafficSpec, rules []any) ([]any, error) {
	if s.router == routerGateway {
		return rewriteHTTPRoute(rules, s.stable, s.canary, s.weight, s.header)
	}
	return rewriteVirtualService(rules, s.host, s.stable, s.canary, s.subsets, s.weight, s.header)
}

func runRules(ctx context.Context, env *steps.Env, cl *kube.Clients, s trafficSpec) (any, error) {
	t := ruleTargets[s.router]
	m, err := kube.ResolveKind(cl.Mapper, t.resource)
	if err != nil {
		return nil, fmt.Errorf("router %q: %w; install %s", s.router, err, t.crd)
	}
	ri := cl.Dynamic.Resource(m.Resource).Namespace(s.ns)
	obj, err := ri.Get(ctx, s.name, metav1.GetOptions{})
	if notFound(err) {
		return nil, fmt.Errorf("%s %q not found in namespace %q", t.kind, s.name, s.ns)
	}
	if err != nil {
		return nil, apiErr(ctx, err, "reading %s %q in namespace %q", t.kind, s.name, s.ns)
	}
	rules, _, err := unstructured.NestedSlice(obj.Object, "spec", t.field)
	if err != nil {
		return nil, fmt.Errorf("%s %q in namespace %q: spec.%s is not a list: %w", t.kind, s.name, s.ns, t.field, err)
	}
	next, err := rewriteFor(s, rules)
	if err != nil {
		return nil, fmt.Errorf("%s %q in namespace %q: %w", t.kind, s.name, s.ns, err)
	}
	rec := trafficRecord{Router: s.router, Namespace: s.ns, Name: s.name,
		Resource: &resourceRef{m.Resource.Group, m.Resource.Version, m.Resource.Resource}, Rules: rules}
	if !env.DryRun {
		if err := env.Record(rec); err != nil {
			return nil, fmt.Errorf("journaling the rules of %s %q before changing them: %w", t.kind, s.name, err)
		}
	}
	if err := unstructured.SetNestedSlice(obj.Object, next, "spec", t.field); err != nil {
		return nil, err
	}
	// Update carries the resourceVersion we read, so the journaled rules
	// are exactly the ones replaced; a concurrent writer is a retryable
	// conflict.
	if _, err := ri.Update(ctx, obj, updateOpts(env)); err != nil {
		return nil, apiErr(ctx, err, "updating the rules of %s %q in namespace %q", t.kind, s.name, s.ns)
	}
	env.Report(fmt.Sprintf("%s %s: %d%% to %s%s", t.kind, s.name, s.weight, s.canary, describeMatches(s)))
	if rules == nil {
		return []any{}, nil
	}
	return rules, nil
}

// undoRules writes the recorded list back in one request: a JSON patch "add"
// replaces the whole list, whatever it holds now.
func undoRules(ctx context.Context, env *steps.Env, cl *kube.Clients, rec trafficRecord) error {
	t, ok := ruleTargets[rec.Router]
	if !ok || rec.Resource == nil {
		return fmt.Errorf("traffic undo: journal record for %q names no resource", rec.Name)
	}
	var (
		pt   = types.JSONPatchType
		body []byte
	)
	if rec.Rules == nil {
		pt, body = types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{%q:null}}`, t.field))
	} else {
		body, _ = json.Marshal([]map[string]any{{"op": "add", "path": "/spec/" + t.field, "value": rec.Rules}})
	}
	_, err := cl.Dynamic.Resource(rec.Resource.gvr()).Namespace(rec.Namespace).Patch(ctx, rec.Name, pt, body, patchOpts(env))
	if notFound(err) {
		return fmt.Errorf("cannot restore the rules of %s %q in namespace %q: it no longer exists", t.kind, rec.Name, rec.Namespace)
	}
	return apiErr(ctx, err, "restoring the rules of %s %q in namespace %q", t.kind, rec.Name, rec.Namespace)
}

// Helpers over decoded JSON (map[string]any / []any).

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func deepCopy[T any](v T) T {
	return runtime.DeepCopyJSONValue(any(v)).(T)
}
