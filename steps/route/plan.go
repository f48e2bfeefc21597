package route

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cutoverhq/cutover/kube"

	"github.com/cutoverhq/cutover/steps"
)

// The Plan methods read the live objects and say what Run would change,
// without writing (plan --dry-run=server). They reuse Run's pure rewrites,
// so the plan and the run cannot disagree.

func (switchSelector) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	cl, err := env.Clients("switch_selector")
	if err != nil {
		return "", err
	}
	c := newSelectorConfig()
	if _, err := steps.Decode(cfg, &c); err != nil {
		return "", err
	}
	ns := env.NamespaceFor(c.Namespace, cl)
	ch := selectorChange(c.Selector)
	var b strings.Builder
	for _, name := range c.serviceNames() {
		svc := &corev1.Service{}
		r := kube.Ref{APIVersion: "v1", Kind: "Service", Resource: "services", Namespace: ns, Name: name}
		found, after, err := planned(env, r, "service", svc, func() (*corev1.Service, error) {
			return cl.Typed.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		})
		if err != nil {
			return "", err
		}
		if !found {
			fmt.Fprintf(&b, "service/%s: selector (known after %s), with %s\n", name, strings.Join(after, ", "), ch.describe())
			continue
		}
		if len(svc.Spec.Selector) == 0 {
			fmt.Fprintf(&b, "service/%s: would be refused: %v\n", name, noSelectorErr(name, ns))
			continue
		}
		next := ch.apply(svc.Spec.Selector)
		fmt.Fprintf(&b, "service/%s: selector %s → %s\n", name, formatLabels(svc.Spec.Selector), formatLabels(next))
		svc.Spec.Selector = next
		leave(env, r, svc)
		if c.AllowEmpty {
			continue
		}
		// The pods the new selector picks are those of the workloads the
		// earlier stages write: the guard is the run's to apply.
		if w := env.Planned.Writers(); len(w) > 0 {
			fmt.Fprintf(&b, "  ready pods (known after %s) checked when it runs\n", strings.Join(w, ", "))
		} else if err := guardReadyPods(ctx, cl, ns, name, next); err != nil {
			fmt.Fprintf(&b, "  would be refused: %v\n", err)
		}
	}
	return b.String(), nil
}

// planned reads r into obj as this stage's plan starts from it: as the
// earlier stages leave it (steps.Planned), else live (get). When neither
// has it, found is false and after names the earlier stages that may create
// it; with none, the run would not find it either: an error that calls it
// kind.
func planned[T any](env *steps.Env, r kube.Ref, kind string, obj *T, get func() (*T, error)) (found bool, after []string, err error) {
	if u, ok := env.Planned.Object(r); ok {
		// An unstructured reader takes the object as it is; a typed one
		// converts it.
		if p, ok := any(obj).(*unstructured.Unstructured); ok {
			*p = *u.DeepCopy()
			return true, nil, nil
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
			return false, nil, fmt.Errorf("reading %s: %w", r, err)
		}
		return true, nil, nil
	}
	live, err := get()
	switch {
	case notFound(err):
		if after := env.Planned.KnownAfter(r); len(after) > 0 {
			return false, after, nil
		}
		return false, nil, fmt.Errorf("%s %q not found in namespace %q", kind, r.Name, r.Namespace)
	case err != nil:
		return false, nil, apiErr(err, "reading %s %q in namespace %q", strings.ToLower(r.Kind), r.Name, r.Namespace)
	}
	*obj = *live
	return true, nil, nil
}

// plannedObject is planned through the dynamic client, for the kinds
// without a typed one (the traffic routers' objects); nil when not found.
func plannedObject(ctx context.Context, cl *kube.Clients, env *steps.Env, r kube.Ref, kind string) (*unstructured.Unstructured, []string, error) {
	obj := &unstructured.Unstructured{}
	found, after, err := planned(env, r, kind, obj, func() (*unstructured.Unstructured, error) {
		return cl.Resource(r).Get(ctx, r.Name, metav1.GetOptions{})
	})
	if !found {
		return nil, after, err
	}
	return obj, nil, nil
}

// leave records obj as this stage's plan leaves r, for the stages after it.
func leave(env *steps.Env, r kube.Ref, obj any) {
	if u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj); err == nil {
		env.Planned.Leave(r, &unstructured.Unstructured{Object: u})
	}
}

func (switchBackend) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	cl, err := env.Clients("switch_backend")
	if err != nil {
		return "", err
	}
	var c backendConfig
	if _, err := steps.Decode(cfg, &c); err != nil {
		return "", err
	}
	ns := env.NamespaceFor(c.Namespace, cl)
	name, to := c.Ingress, c.Service
	port, err := portOf(c.Port)
	if err != nil {
		return "", err
	}
	ing := &networkingv1.Ingress{}
	r := kube.Ref{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Resource: "ingresses", Namespace: ns, Name: name}
	found, after, err := planned(env, r, "ingress", ing, func() (*networkingv1.Ingress, error) {
		return cl.Typed.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
	})
	if err != nil {
		return "", err
	}
	if !found {
		return fmt.Sprintf("ingress/%s: backends (known after %s) → %s\n", name, strings.Join(after, ", "), to), nil
	}
	spec := ing.Spec.DeepCopy()
	sw := rewriteBackends(spec, to, port, c.Host, c.Path, c.From)
	ing.Spec = *spec
	leave(env, r, ing)
	if len(sw) == 0 {
		return fmt.Sprintf("ingress/%s: no backend to switch; %s\n", name, describeBackends(ing.Spec)), nil
	}
	var b strings.Builder
	for _, s := range sw {
		where := "defaultBackend"
		if s.Host != "" || s.Path != "" {
			where = fmt.Sprintf("host %q path %q", s.Host, s.Path)
		}
		newPort := s.Port
		if port != nil {
			newPort = portString(*port)
		}
		fmt.Fprintf(&b, "ingress/%s %s: %s:%s → %s:%s\n", name, where, s.Service, s.Port, to, newPort)
	}
	return b.String(), nil
}

func (labelKind) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	var c labelConfig
	if _, err := steps.Decode(cfg, &c); err != nil {
		return "", err
	}
	kind, err := labelKindOf(c.Kind)
	if err != nil {
		return "", err
	}
	cl, err := env.Clients("label")
	if err != nil {
		return "", err
	}
	ch := c.change()
	lt := &labeler{cl: cl, env: env, ns: env.NamespaceFor(c.Namespace, cl), kind: kind, ch: ch}
	var r kube.Ref
	if name := c.name(); name != "" && kind != "Pod" {
		// A workload an earlier stage writes: its template as that stage
		// leaves it; its pods are known after it.
		r = kube.Ref{APIVersion: "apps/v1", Kind: kind, Resource: strings.ToLower(kind) + "s", Namespace: lt.ns, Name: name}
		if obj, ok := env.Planned.Object(r); ok {
			labels, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "template", "metadata", "labels")
			next := obj.DeepCopy()
			_ = unstructured.SetNestedStringMap(next.Object, ch.apply(labels), "spec", "template", "metadata", "labels")
			env.Planned.Leave(r, next)
			out := fmt.Sprintf("%s/%s pod template labels: %s → %s\n", strings.ToLower(kind), name, formatLabels(labels), formatLabels(ch.apply(labels)))
			if kind == "ReplicaSet" {
				out += fmt.Sprintf("pods of replicaset/%s: (known after %s), with %s\n", name, strings.Join(env.Planned.KnownAfter(r), ", "), ch.describe())
			}
			return out, nil
		}
	}
	if kind == "Pod" {
		return lt.planPods(ctx, c.name(), c.Selector)
	}
	targets, err := lt.find(ctx, c.name(), c.Selector)
	if err != nil {
		// Not there yet, and an earlier stage whose changes are not known
		// may create it.
		if after := env.Planned.KnownAfter(r); r.Name != "" && len(after) > 0 {
			if live, gerr := cl.Get(ctx, r); gerr == nil && live == nil {
				return fmt.Sprintf("%s/%s pod template labels: (known after %s), with %s\n", strings.ToLower(kind), r.Name, strings.Join(after, ", "), ch.describe()), nil
			}
		}
		return "", err
	}
	var b strings.Builder
	for _, t := range targets {
		where := "labels"
		if t.template {
			where = "pod template labels"
		}
		fmt.Fprintf(&b, "%s/%s %s: %s → %s\n", strings.ToLower(t.kind), t.name, where, formatLabels(t.labels), formatLabels(ch.apply(t.labels)))
	}
	return b.String(), nil
}

// planPods says what labelling pods would change: the live pods' labels,
// but for the pods of workloads an earlier stage writes, known after it:
// a live pod's workload (its pods may be replaced), one whose pod template
// matches the selector (its new pods are chosen too), the named pod's (by
// name). With no pod there and none written before, the stages whose
// changes are not known may create them; with none of those either, the
// run would find none: find's error.
func (l *labeler) planPods(ctx context.Context, name string, sel map[string]string) (string, error) {
	targets, err := l.find(ctx, name, sel)
	if err != nil && !errors.As(err, new(errMissing)) {
		return "", err
	}
	owned := map[string]bool{} // resource/name of the live pods' workloads
	for _, t := range targets {
		owned[t.owner.Resource+"/"+t.owner.Name] = true
	}
	after := l.env.Planned.WritersOf(func(r kube.Ref, obj *unstructured.Unstructured) bool {
		if r.Namespace != l.ns || !podWorkloads[r.Resource] {
			return false
		}
		if owned[r.Resource+"/"+r.Name] {
			return true
		}
		if name != "" {
			return strings.HasPrefix(name, r.Name+"-")
		}
		tmpl, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "template", "metadata", "labels")
		return len(tmpl) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(tmpl))
	})
	if err != nil && len(after) == 0 {
		if after = l.env.Planned.Unknown(); len(after) == 0 {
			return "", err
		}
	}
	var b strings.Builder
	for _, t := range targets {
		if _, written := l.env.Planned.Object(t.owner); !written {
			fmt.Fprintf(&b, "pod/%s labels: %s → %s\n", t.name, formatLabels(t.labels), formatLabels(l.ch.apply(t.labels)))
		}
	}
	if len(after) > 0 {
		what := "pod/" + name
		if name == "" {
			what = "pods matching " + formatLabels(sel)
		}
		fmt.Fprintf(&b, "%s labels: (known after %s), with %s\n", what, strings.Join(after, ", "), l.ch.describe())
	}
	return b.String(), nil
}

// podWorkloads are the resources whose objects run pods from a template.
var podWorkloads = map[string]bool{"deployments": true, "replicasets": true, "statefulsets": true, "daemonsets": true}

// annotationsDiff lists the annotations that would change.
func annotationsDiff(what string, live map[string]string, want map[string]*string) string {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		old, had := live[k]
		switch v := want[k]; {
		case v == nil && had:
			fmt.Fprintf(&b, "%s: - %s=%q\n", what, k, old)
		case v != nil && !had:
			fmt.Fprintf(&b, "%s: + %s=%q\n", what, k, *v)
		case v != nil && old != *v:
			fmt.Fprintf(&b, "%s: ~ %s=%q → %q\n", what, k, old, *v)
		}
	}
	if b.Len() == 0 {
		return what + ": no change\n"
	}
	return b.String()
}

// Every kind of the package implements the whole optional contract.
var (
	_ interface {
		steps.Kind
		steps.Undoer
		steps.Checker
		steps.Planner
	} = switchSelector{}
	_ interface {
		steps.Kind
		steps.Undoer
		steps.Checker
		steps.Planner
	} = switchBackend{}
	_ interface {
		steps.Kind
		steps.Undoer
		steps.Checker
		steps.Planner
	} = labelKind{}
	_ interface {
		steps.Kind
		steps.Undoer
		steps.Checker
		steps.Planner
	} = trafficKind{}
)

// describe is the change as a plan shows it when the labels it applies to
// are not known yet: "version=v2, -track".
func (ch labelChange) describe() string {
	parts := []string{formatLabels(ch.set)}
	if len(ch.set) == 0 {
		parts = nil
	}
	for _, k := range ch.del {
		parts = append(parts, "-"+k)
	}
	return strings.Join(parts, ", ")
}
