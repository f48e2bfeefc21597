package route

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
		svc, err := cl.Typed.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if notFound(err) {
			return "", fmt.Errorf("service %q not found in namespace %q", name, ns)
		}
		if err != nil {
			return "", apiErr(err, "reading service %q in namespace %q", name, ns)
		}
		if len(svc.Spec.Selector) == 0 {
			fmt.Fprintf(&b, "service/%s: would be refused: %v\n", name, noSelectorErr(name, ns))
			continue
		}
		next := ch.apply(svc.Spec.Selector)
		fmt.Fprintf(&b, "service/%s: selector %s → %s\n", name, formatLabels(svc.Spec.Selector), formatLabels(next))
		if !c.AllowEmpty {
			if err := guardReadyPods(ctx, cl, ns, name, next); err != nil {
				fmt.Fprintf(&b, "  would be refused: %v\n", err)
			}
		}
	}
	return b.String(), nil
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
	ing, err := cl.Typed.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
	if notFound(err) {
		return "", fmt.Errorf("ingress %q not found in namespace %q", name, ns)
	}
	if err != nil {
		return "", apiErr(err, "reading ingress %q in namespace %q", name, ns)
	}
	spec := ing.Spec.DeepCopy()
	sw := rewriteBackends(spec, to, port, c.Host, c.Path, c.From)
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
	targets, err := lt.find(ctx, c.name(), c.Selector)
	if err != nil {
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
