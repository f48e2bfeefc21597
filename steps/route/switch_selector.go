package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(switchSelector{}) }

// switchSelector merges `selector` into the spec.selector of one or more
// Services: the blue/green switch of `kubectl patch service -p
// '{"spec":{"selector":{"version":"v2"}}}'`.
//
// Keys given replace the Service's values; a key set to null is removed from
// the selector; "" is a (valid) empty label value, not a removal. Keys not
// given are left as they are.
type switchSelector struct{}

func (switchSelector) Name() string { return "switch_selector" }

func (switchSelector) Spec() hcldec.Spec {
	return &hcldec.ObjectSpec{
		"service":        &hcldec.AttrSpec{Name: "service", Type: cty.String},
		"services":       &hcldec.AttrSpec{Name: "services", Type: cty.List(cty.String)},
		"selector":       &hcldec.AttrSpec{Name: "selector", Type: cty.Map(cty.String), Required: true},
		"wait_endpoints": &hcldec.AttrSpec{Name: "wait_endpoints", Type: cty.Bool},
		"allow_empty":    &hcldec.AttrSpec{Name: "allow_empty", Type: cty.Bool},
		"namespace":      &hcldec.AttrSpec{Name: "namespace", Type: cty.String},
	}
}

var selectorOutput = cty.Object(map[string]cty.Type{
	"previous":     cty.Map(cty.String),
	"previous_all": cty.Map(cty.Map(cty.String)),
})

func (switchSelector) Output() cty.Type { return selectorOutput }

func (switchSelector) Check(cfg cty.Value) []steps.Problem {
	var out []steps.Problem
	one, many := steps.Attr(cfg, "service"), steps.Attr(cfg, "services")
	if one.IsKnown() && many.IsKnown() {
		switch {
		case one.IsNull() && many.IsNull():
			out = append(out, steps.Problem{Path: []string{"service"}, Summary: "No Service to switch",
				Detail: `Set service = "NAME" or services = ["A", "B"].`})
		case !one.IsNull() && !many.IsNull():
			out = append(out, steps.Problem{Path: []string{"services"}, Summary: "Both service and services are set",
				Detail: "Use service for one Service or services for several, not both."})
		case !many.IsNull() && many.LengthInt() == 0:
			out = append(out, steps.Problem{Path: []string{"services"}, Summary: "Empty services list",
				Detail: "services must name at least one Service."})
		}
	}
	if sel := steps.Attr(cfg, "selector"); sel.IsKnown() && !sel.IsNull() && sel.LengthInt() == 0 {
		out = append(out, steps.Problem{Path: []string{"selector"}, Summary: "Empty selector",
			Detail: `selector must give at least one label, such as { version = "v2" }.`})
	}
	return append(out, checkLabels("selector", selectorChange(cfg, "selector"))...)
}

// selectorRecord is the undo journal entry: each Service's whole selector
// before the switch. One record covers every Service of the step and is
// written before the first of them changes.
type selectorRecord struct {
	Namespace string            `json:"namespace"`
	Services  []serviceSelector `json:"services"`
}

type serviceSelector struct {
	Name     string            `json:"name"`
	Selector map[string]string `json:"selector"`
}

func serviceNames(cfg cty.Value) []string {
	if s := steps.Str(cfg, "service"); s != "" {
		return []string{s}
	}
	return steps.StrList(cfg, "services")
}

func (switchSelector) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	cl, err := clientsFor(env)
	if err != nil {
		return cty.NilVal, err
	}
	ns := namespaceOf(env, steps.Str(cfg, "namespace"), cl)
	names := serviceNames(cfg)
	if len(names) == 0 {
		return cty.NilVal, errors.New(`switch_selector: no Service given; set service = "NAME" or services = [...]`)
	}
	ch := selectorChange(cfg, "selector")

	// Read everything and run the guard before the first write, so a bad
	// selector changes nothing.
	type target struct {
		svc        *corev1.Service
		prev, next map[string]string
	}
	targets := make([]target, 0, len(names))
	for _, name := range names {
		svc, err := cl.Typed.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if notFound(err) {
			return cty.NilVal, fmt.Errorf("service %q not found in namespace %q", name, ns)
		}
		if err != nil {
			return cty.NilVal, apiErr(ctx, err, "reading service %q in namespace %q", name, ns)
		}
		next := ch.apply(svc.Spec.Selector)
		if len(next) == 0 {
			return cty.NilVal, fmt.Errorf("service %q in namespace %q: the merged selector would be empty (selector %s minus the removed keys); a Service without a selector gets no endpoints", name, ns, formatLabels(svc.Spec.Selector))
		}
		if !steps.Bool(cfg, "allow_empty", false) {
			if err := guardReadyPods(ctx, cl, ns, name, next); err != nil {
				// A dry run created no pods for earlier stages to
				// select, so the guard can only warn there.
				if !env.DryRun {
					return cty.NilVal, err
				}
				env.Report("dry run: " + err.Error())
			}
		}
		targets = append(targets, target{svc: svc, prev: svc.Spec.Selector, next: next})
	}

	rec := selectorRecord{Namespace: ns}
	for _, t := range targets {
		rec.Services = append(rec.Services, serviceSelector{Name: t.svc.Name, Selector: t.prev})
	}
	if !env.DryRun {
		if err := env.Record(rec); err != nil {
			return cty.NilVal, fmt.Errorf("journaling the previous selectors before the switch: %w", err)
		}
	}
	for _, t := range targets {
		// resourceVersion makes the patch conditional on the Service being
		// as we read it, so the journaled selector is exactly what we
		// replaced; a concurrent writer turns into a retryable conflict.
		body, _ := json.Marshal(map[string]any{
			"metadata": map[string]any{"resourceVersion": t.svc.ResourceVersion},
			"spec":     map[string]any{"selector": ch.patch()},
		})
		_, err := cl.Typed.CoreV1().Services(ns).Patch(ctx, t.svc.Name, types.MergePatchType, body, patchOpts(env))
		if err != nil {
			return cty.NilVal, apiErr(ctx, err, "switching the selector of service %q in namespace %q to %s", t.svc.Name, ns, formatLabels(t.next))
		}
	}
	if steps.Bool(cfg, "wait_endpoints", true) && !env.DryRun {
		for _, t := range targets {
			if err := waitEndpoints(ctx, env, cl, ns, t.svc.Name, t.next); err != nil {
				return cty.NilVal, err
			}
		}
	}
	all := map[string]map[string]string{}
	for _, t := range targets {
		all[t.svc.Name] = t.prev
	}
	return selectorOutputVal(targets[0].prev, all), nil
}

func selectorOutputVal(first map[string]string, all map[string]map[string]string) cty.Value {
	m := make(map[string]cty.Value, len(all))
	for k, v := range all {
		m[k] = strMapVal(v)
	}
	allVal := cty.MapValEmpty(cty.Map(cty.String))
	if len(m) > 0 {
		allVal = cty.MapVal(m)
	}
	return cty.ObjectVal(map[string]cty.Value{"previous": strMapVal(first), "previous_all": allVal})
}

// strMapVal is a map(string) value, empty rather than null for a nil map so
// that references such as previous.version fail with "no such key" rather
// than "null value".
func strMapVal(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	return steps.FromGo(m)
}

// guardReadyPods refuses a switch to a selector no ready pod matches: the
// classic blue/green outage. It runs before any write.
func guardReadyPods(ctx context.Context, cl *kube.Clients, ns, svc string, sel map[string]string) error {
	pods, err := cl.Typed.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: formatSelector(sel)})
	if err != nil {
		return apiErr(ctx, err, "listing the pods that selector %s would select in namespace %q", formatLabels(sel), ns)
	}
	ready := 0
	for i := range pods.Items {
		if kube.PodReady(&pods.Items[i]) {
			ready++
		}
	}
	if ready > 0 {
		return nil
	}
	if len(pods.Items) == 0 {
		return fmt.Errorf("service %q in namespace %q: the new selector %s matches no pod, so the switch would send traffic nowhere; nothing was changed (deploy the new version first, fix the selector, or set allow_empty = true)", svc, ns, formatLabels(sel))
	}
	return fmt.Errorf("service %q in namespace %q: the new selector %s matches %d pod(s) (%s) but none is ready, so the switch would send traffic nowhere; nothing was changed (wait for the pods to become ready, or set allow_empty = true)", svc, ns, formatLabels(sel), len(pods.Items), podNames(pods.Items, 5))
}

func podNames(pods []corev1.Pod, max int) string {
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	if len(names) > max {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
	}
	return strings.Join(names, ", ")
}

// Undo puts each Service's selector back as it was before the first
// attempt. It does not wait for the EndpointSlices: the controller follows
// within milliseconds, and an undo should hand back control quickly.
func (switchSelector) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	cl, err := clientsFor(env)
	if err != nil {
		return err
	}
	type key struct{ ns, name string }
	prev := map[key]map[string]string{}
	var order []key
	// Newest first: an older record of the same Service overwrites a newer
	// one, so what is left is the selector from before the first attempt.
	for i := len(records) - 1; i >= 0; i-- {
		var rec selectorRecord
		if err := json.Unmarshal(records[i], &rec); err != nil {
			return fmt.Errorf("switch_selector undo: unreadable journal record %d: %w", i, err)
		}
		for _, s := range rec.Services {
			k := key{rec.Namespace, s.Name}
			if _, seen := prev[k]; !seen {
				order = append(order, k)
			}
			prev[k] = s.Selector
		}
	}
	var errs []error
	for _, k := range order {
		if err := restoreSelector(ctx, env, cl, k.ns, k.name, prev[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// restoreSelector sets spec.selector to exactly sel without reading the
// Service first: a JSON patch "add" replaces the whole map, so keys the
// switch added disappear, in one request.
func restoreSelector(ctx context.Context, env *steps.Env, cl *kube.Clients, ns, name string, sel map[string]string) error {
	// Already as recorded (the switch was refused, or undone before): no
	// write, so an undo needs no permission the switch did not have.
	if live, err := cl.Typed.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); err == nil && maps.Equal(live.Spec.Selector, sel) {
		env.Report(fmt.Sprintf("service %s already selects %s", name, formatLabels(sel)))
		return nil
	}
	var (
		pt   types.PatchType
		body []byte
	)
	if len(sel) == 0 {
		pt, body = types.MergePatchType, []byte(`{"spec":{"selector":null}}`)
	} else {
		pt = types.JSONPatchType
		body, _ = json.Marshal([]map[string]any{{"op": "add", "path": "/spec/selector", "value": sel}})
	}
	_, err := cl.Typed.CoreV1().Services(ns).Patch(ctx, name, pt, body, patchOpts(env))
	if notFound(err) {
		return fmt.Errorf("cannot restore the selector %s of service %q in namespace %q: the service no longer exists", formatLabels(sel), name, ns)
	}
	return apiErr(ctx, err, "restoring the selector %s of service %q in namespace %q", formatLabels(sel), name, ns)
}
