package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

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

// rulesRouter is a router that rewrites a list of rules in the spec of a
// custom resource (the Gateway API's HTTPRoute, Istio's VirtualService):
// it reads the object, rewrites the list with a pure function and updates
// the object; the undo patches the recorded list back.
type rulesRouter struct {
	name   string
	object string // the attribute naming the object
	attrs  hcldec.ObjectSpec
	docs   map[string]string // AttrDocs
	check  func(cfg cty.Value) []steps.Problem
	perm   steps.Permission

	resource string // resource.group for kube.ResolveKind
	kind     string // for messages
	field    string // the list under spec
	crd      string // what to install when the cluster does not serve it
	// rewrite returns the list with the split of s; rules is not modified.
	rewrite func(s Traffic, rules []any) ([]any, error)
}

// splitDocs describe split's attributes.
var splitDocs = map[string]string{
	"stable": "the stable Service (or subset).",
	"canary": "the canary Service (or subset).",
}

// withSplit is a rules router's attribute docs: its own and split's.
func withSplit(own map[string]string) map[string]string {
	docs := maps.Clone(splitDocs)
	maps.Copy(docs, own)
	return docs
}

// split are the attributes of every rules router: the Services (or
// subsets) the weights go to.
type split struct {
	Stable string `hcl:"stable,required"`
	Canary string `hcl:"canary,required"`
}

func (t rulesRouter) Name() string                    { return t.name }
func (t rulesRouter) Spec() hcldec.ObjectSpec         { return t.attrs }
func (t rulesRouter) Object() string                  { return t.object }
func (t rulesRouter) AttrDocs() map[string]string     { return t.docs }
func (t rulesRouter) Permissions() []steps.Permission { return []steps.Permission{t.perm} }

func (t rulesRouter) Check(cfg cty.Value) []steps.Problem {
	if t.check == nil {
		return nil
	}
	return t.check(cfg)
}

// rulesRecord journals the rules before a write: where they live and what
// they were.
type rulesRecord struct {
	RecordHead
	Resource *resourceRef `json:"resource,omitempty"`
	Rules    []any        `json:"rules,omitempty"`
}

// Ref names the resource the record names, as the run's Written does.
func (t rulesRouter) Ref(raw json.RawMessage) (kube.Ref, error) {
	var rec rulesRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return kube.Ref{}, err
	}
	return t.ref(rec), nil
}

func (t rulesRouter) ref(rec rulesRecord) kube.Ref {
	ref := kube.Ref{Kind: t.kind, Namespace: rec.Namespace, Name: rec.Name}
	if rec.Resource != nil {
		ref.APIVersion = schema.GroupVersion{Group: rec.Resource.Group, Version: rec.Resource.Version}.String()
		ref.Resource = rec.Resource.Resource
	}
	return ref
}

func (t rulesRouter) Run(ctx context.Context, env *steps.Env, cl *kube.Clients, s Traffic) (any, error) {
	m, err := kube.ResolveKind(cl.Mapper, t.resource)
	if err != nil {
		return nil, fmt.Errorf("router %q: %w; install %s", s.Router, err, t.crd)
	}
	ri := cl.Dynamic.Resource(m.Resource).Namespace(s.Namespace)
	obj, err := ri.Get(ctx, s.Name, metav1.GetOptions{})
	if notFound(err) {
		return nil, fmt.Errorf("%s %q not found in namespace %q", t.kind, s.Name, s.Namespace)
	}
	if err != nil {
		return nil, apiErr(err, "reading %s %q in namespace %q", t.kind, s.Name, s.Namespace)
	}
	rules, _, err := unstructured.NestedSlice(obj.Object, "spec", t.field)
	if err != nil {
		return nil, fmt.Errorf("%s %q in namespace %q: spec.%s is not a list: %w", t.kind, s.Name, s.Namespace, t.field, err)
	}
	next, err := t.rewrite(s, rules)
	if err != nil {
		return nil, fmt.Errorf("%s %q in namespace %q: %w", t.kind, s.Name, s.Namespace, err)
	}
	rec := rulesRecord{RecordHead: RecordHead{Router: s.Router, Namespace: s.Namespace, Name: s.Name, Want: kube.Digest(next)},
		Resource: &resourceRef{m.Resource.Group, m.Resource.Version, m.Resource.Resource}, Rules: rules}
	if !env.DryRun {
		if err := env.Record(rec); err != nil {
			return nil, fmt.Errorf("journaling the rules of %s %q before changing them: %w", t.kind, s.Name, err)
		}
	}
	if err := unstructured.SetNestedSlice(obj.Object, next, "spec", t.field); err != nil {
		return nil, err
	}
	// Update carries the resourceVersion we read, so the journaled rules
	// are exactly the ones replaced; a concurrent writer is a retryable
	// conflict.
	if steps.ShouldMark(env, obj.GetAnnotations()) {
		ann := obj.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[kube.AnnotationRun] = env.RunID
		obj.SetAnnotations(ann)
	}
	out, err := ri.Update(ctx, obj, updateOpts(env))
	if err != nil {
		return nil, apiErr(err, "updating the rules of %s %q in namespace %q", t.kind, s.Name, s.Namespace)
	}
	if !env.DryRun {
		env.Remember(kube.Written{Wrote: t.ref(rec), UID: string(out.GetUID()), Digest: rulesDigest(out, t.field)})
	}
	var sp split
	steps.Decode(s.Config, &sp)
	env.Report(fmt.Sprintf("%s %s: %d%% to %s%s", t.kind, s.Name, s.Weight, sp.Canary, describeMatches(s, "")))
	if rules == nil {
		return []any{}, nil
	}
	return rules, nil
}

// rulesDigest covers what the step sets on an HTTPRoute or VirtualService:
// its list of rules (spec.rules, spec.http).
func rulesDigest(obj *unstructured.Unstructured, field string) string {
	rules, _, _ := unstructured.NestedSlice(obj.Object, "spec", field)
	if rules == nil {
		rules = []any{}
	}
	return kube.Digest(rules)
}

func (t rulesRouter) Plan(ctx context.Context, env *steps.Env, cl *kube.Clients, s Traffic) (string, error) {
	m, err := kube.ResolveKind(cl.Mapper, t.resource)
	if err != nil {
		return "", fmt.Errorf("router %q: %w; install %s", s.Router, err, t.crd)
	}
	r := kube.RefFor(m, s.Namespace, s.Name)
	obj, after, err := plannedObject(ctx, cl, env, r, t.kind)
	if err != nil {
		return "", err
	}
	if obj == nil {
		return fmt.Sprintf("%s/%s spec.%s: (known after %s)\n", t.kind, s.Name, t.field, strings.Join(after, ", ")), nil
	}
	before, _, err := unstructured.NestedSlice(obj.Object, "spec", t.field)
	if err != nil {
		return "", fmt.Errorf("%s %q in namespace %q: %w", t.kind, s.Name, s.Namespace, err)
	}
	rules, err := t.rewrite(s, before)
	if err != nil {
		return "", fmt.Errorf("%s %q in namespace %q: %w", t.kind, s.Name, s.Namespace, err)
	}
	next := obj.DeepCopy()
	if err := unstructured.SetNestedSlice(next.Object, rules, "spec", t.field); err == nil {
		env.Planned.Leave(r, next)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s spec.%s:\n", t.kind, s.Name, t.field)
	for _, r := range before {
		j, _ := json.Marshal(r)
		fmt.Fprintf(&b, "- %s\n", j)
	}
	for _, r := range rules {
		j, _ := json.Marshal(r)
		fmt.Fprintf(&b, "+ %s\n", j)
	}
	return b.String(), nil
}

// Undo writes the list of the oldest record back in one merge patch, which
// replaces the whole list, unless the guard says to leave the object alone
// (why). The patch carries the resourceVersion read.
func (t rulesRouter) Undo(ctx context.Context, env *steps.Env, cl *kube.Clients, recs []json.RawMessage, g UndoGuard) (why string, err error) {
	var rec rulesRecord
	if err := json.Unmarshal(recs[len(recs)-1], &rec); err != nil {
		return "", fmt.Errorf("traffic undo: unreadable journal record: %w", err)
	}
	if rec.Resource == nil {
		return "", fmt.Errorf("traffic undo: journal record for %q names no resource", rec.Name)
	}
	what := fmt.Sprintf("%s/%s in namespace %s", t.kind, rec.Name, rec.Namespace)
	if rec.Resource.Resource+"."+rec.Resource.Group != t.resource {
		// The request goes to the recorded resource: one that is not the
		// router's would reach some other kind of object.
		return "", &steps.TargetError{Record: what, Why: fmt.Sprintf("the record names resource %s.%s; router %q keeps its rules in %s", rec.Resource.Resource, rec.Resource.Group, rec.Router, t.resource)}
	}
	ri := cl.Dynamic.Resource(rec.Resource.gvr()).Namespace(rec.Namespace)
	prev := rec.Rules
	if prev == nil {
		prev = []any{}
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		why = ""
		obj, err := ri.Get(ctx, rec.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur := rulesDigest(obj, t.field)
		if cur == kube.Digest(prev) {
			env.Report(what + " already has its previous rules")
			return nil
		}
		if why, err = g.Check(what, string(obj.GetUID()), obj.GetAnnotations(), cur); why != "" || err != nil {
			return err
		}
		var rules any = rec.Rules
		if rec.Rules == nil {
			rules = nil
		}
		body, _ := json.Marshal(map[string]any{
			"metadata": map[string]any{"resourceVersion": obj.GetResourceVersion()},
			"spec":     map[string]any{t.field: rules},
		})
		if _, err = ri.Patch(ctx, rec.Name, types.MergePatchType, body, patchOpts(env)); err != nil {
			return err
		}
		env.Report(what + ": rules put back as before the run")
		return nil
	})
	var te *steps.TargetError
	switch {
	case errors.As(err, &te):
		return "", err
	case notFound(err):
		return "", fmt.Errorf("cannot restore the rules of %s %q in namespace %q: it no longer exists", t.kind, rec.Name, rec.Namespace)
	}
	return why, apiErr(err, "restoring the rules of %s %q in namespace %q", t.kind, rec.Name, rec.Namespace)
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
