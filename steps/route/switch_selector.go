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
	"k8s.io/client-go/util/retry"

	"github.com/cutoverhq/cutover/internal/words"
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

func (switchSelector) Doc() string {
	return "The blue/green switch: merges `selector` into the selector of one or more Services. Keys given " +
		"replace the Service's values, a key set to null is removed, keys not given stay. A selector that matches " +
		"no ready pod is refused before anything is written, and the step waits until the endpoints follow. The " +
		"previous selector is journaled, and the undo puts it back."
}

func (switchSelector) AttrDocs() map[string]string {
	return map[string]string{
		"service":        "The Service to switch (or `services`).",
		"services":       "Several Services to switch together, all or none.",
		"selector":       "The labels to merge into the selector (`{ version = var.version }`); null removes a key.",
		"wait_endpoints": "Wait until every ready endpoint of each Service is a pod the new selector matches, and at least one is ready: the old pods have left the endpoints, the new ones need not all have joined (default true).",
		"allow_empty":    "Allow a selector that matches no ready pod (traffic then goes nowhere).",
		"namespace":      "The Services' namespace (default: the pipeline's, or the run's `--namespace`).",
		"drain_delay":    drainDoc,
	}
}

// selectorConfig is the switch_selector block. A null value in selector
// removes that key.
type selectorConfig struct {
	Service       *string            `hcl:"service"`
	Services      []string           `hcl:"services"`
	Selector      map[string]*string `hcl:"selector,required"`
	WaitEndpoints bool               `hcl:"wait_endpoints"`
	AllowEmpty    bool               `hcl:"allow_empty"`
	Namespace     string             `hcl:"namespace"`
	Drain
}

func newSelectorConfig() selectorConfig {
	return selectorConfig{WaitEndpoints: true, Drain: newDrain()}
}

var selectorSpec = steps.SpecFor[selectorConfig]()

func (switchSelector) Spec() hcldec.Spec { return selectorSpec }

var selectorOutput = cty.Object(map[string]cty.Type{
	"previous":     cty.Map(cty.String),
	"previous_all": cty.Map(cty.Map(cty.String)),
})

func (switchSelector) Output() cty.Type { return selectorOutput }

func (switchSelector) Check(cfg cty.Value) []steps.Problem {
	c := newSelectorConfig()
	u, err := steps.Decode(cfg, &c)
	out := steps.ProblemsOf(err)
	if !u.Has("service", "services") {
		switch {
		case c.Service == nil && c.Services == nil:
			out = append(out, steps.Problem{Path: []string{"service"}, Summary: "No Service to switch",
				Detail: `Set service = "NAME" or services = ["A", "B"].`})
		case c.Service != nil && c.Services != nil:
			out = append(out, steps.Problem{Path: []string{"services"}, Summary: "Both service and services are set",
				Detail: "Use service for one Service or services for several, not both."})
		case c.Services != nil && len(c.Services) == 0:
			out = append(out, steps.Problem{Path: []string{"services"}, Summary: "Empty services list",
				Detail: "services must name at least one Service."})
		}
	}
	if !u.Has("selector") && c.Selector != nil && len(c.Selector) == 0 {
		out = append(out, steps.Problem{Path: []string{"selector"}, Summary: "Empty selector",
			Detail: `selector must give at least one label, such as { version = "v2" }.`})
	}
	return append(out, checkLabels("selector", selectorChange(c.Selector))...)
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
	// Next is the selector the switch is about to set: an undo that lost
	// the note written after the switch compares the live selector with it.
	Next map[string]string `json:"next,omitempty"`
}

func (c selectorConfig) serviceNames() []string {
	if c.Service != nil && *c.Service != "" {
		return []string{*c.Service}
	}
	return c.Services
}

func (switchSelector) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	c := newSelectorConfig()
	if _, err := steps.Decode(cfg, &c); err != nil {
		return cty.NilVal, err
	}
	cl, err := env.Clients("switch_selector")
	if err != nil {
		return cty.NilVal, err
	}
	ns := env.NamespaceFor(c.Namespace, cl)
	names := c.serviceNames()
	if len(names) == 0 {
		return cty.NilVal, errors.New(`switch_selector: no Service given; set service = "NAME" or services = [...]`)
	}
	ch := selectorChange(c.Selector)

	// Read everything and run the guard before the first write, so a bad
	// selector changes nothing.
	type target struct {
		svc        *corev1.Service
		prev, next map[string]string
		pods       *corev1.PodList // the guard's list of the pods next selects
		planned    bool            // a dry run's: as the stages before leave it
	}
	targets := make([]target, 0, len(names))
	for _, name := range names {
		// In a dry run, as the dry runs of the stages before leave it
		// (steps.Planned): the Service a first release's earlier stage
		// creates exists only there.
		svc, r := &corev1.Service{}, serviceRef(ns, name)
		found, after, err := planned(env, r, "service", svc, func() (*corev1.Service, error) {
			return cl.Typed.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		})
		if err != nil {
			return cty.NilVal, err
		}
		if !found {
			return cty.NilVal, steps.NotRehearsed(cty.NilVal, fmt.Sprintf("service/%s is known after %s, whose changes the dry run could not follow", name, strings.Join(after, ", ")))
		}
		_, isPlanned := env.Planned.Object(r)
		if len(svc.Spec.Selector) == 0 {
			return cty.NilVal, noSelectorErr(name, ns)
		}
		next := ch.apply(svc.Spec.Selector)
		if len(next) == 0 {
			return cty.NilVal, fmt.Errorf("service %q in namespace %q: the merged selector would be empty (selector %s minus the removed keys); a Service without a selector gets no endpoints", name, ns, formatLabels(svc.Spec.Selector))
		}
		var pods *corev1.PodList
		if w := env.Planned.Writers(); !c.AllowEmpty && env.DryRun && len(w) > 0 {
			// The pods the new selector picks are those of the workloads
			// the stages before write, which a dry run starts none of.
			env.Report(fmt.Sprintf("dry run: ready pods for %s (known after %s) not checked: a dry run starts no pod", formatLabels(next), strings.Join(w, ", ")))
		} else if !c.AllowEmpty {
			pods, err = guardPods(ctx, cl, ns, name, next)
			if err != nil {
				// A dry run created no pods for earlier stages to
				// select, so the guard can only warn there.
				if !env.DryRun {
					return cty.NilVal, err
				}
				env.Report("dry run: " + err.Error())
			}
		}
		targets = append(targets, target{svc: svc, prev: svc.Spec.Selector, next: next, pods: pods, planned: isPlanned})
	}

	rec := selectorRecord{Namespace: ns}
	for _, t := range targets {
		rec.Services = append(rec.Services, serviceSelector{Name: t.svc.Name, Selector: t.prev, Next: t.next})
	}
	if !env.DryRun {
		if err := env.Record(rec); err != nil {
			return cty.NilVal, fmt.Errorf("journaling the previous selectors before the switch: %w", err)
		}
	}
	for _, t := range targets {
		if t.planned {
			// The rehearsal's Service: the switch is checked by the API
			// server as the object it leaves (steps.Env.Rehearse).
			next := t.svc.DeepCopy()
			next.Spec.Selector = t.next
			u, err := kube.ToUnstructured(next)
			if err != nil {
				return cty.NilVal, err
			}
			if _, err := env.Rehearse(ctx, cl, serviceRef(ns, t.svc.Name), u); err != nil {
				return cty.NilVal, err
			}
			continue
		}
		// resourceVersion makes the patch conditional on the Service being
		// as we read it, so the journaled selector is exactly what we
		// replaced; a concurrent writer turns into a retryable conflict.
		md := map[string]any{"resourceVersion": t.svc.ResourceVersion}
		if m := steps.MarkAnnotations(env, t.svc.Annotations); m != nil {
			md["annotations"] = m
		}
		body, _ := json.Marshal(map[string]any{
			"metadata": md,
			"spec":     map[string]any{"selector": ch.patch()},
		})
		out, err := cl.Typed.CoreV1().Services(ns).Patch(ctx, t.svc.Name, types.MergePatchType, body, patchOpts(env))
		if err != nil {
			return cty.NilVal, apiErr(err, "switching the selector of service %q in namespace %q to %s", t.svc.Name, ns, formatLabels(t.next))
		}
		if !env.DryRun {
			env.Remember(kube.Written{Wrote: serviceRef(ns, out.Name), UID: string(out.UID), Digest: stringsDigest(out.Spec.Selector)})
		}
		leave(env, serviceRef(ns, out.Name), out)
	}
	env.TrafficMoved(c.DrainDelay)
	if c.WaitEndpoints && !env.DryRun {
		for _, t := range targets {
			// The guard's list is where the wait's pod watch starts.
			if err := waitEndpoints(ctx, env, cl, ns, t.svc.Name, t.next, t.pods); err != nil {
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
	_, err := guardPods(ctx, cl, ns, svc, sel)
	return err
}

// guardPods is guardReadyPods returning the pods it listed (nil when the
// list failed), so the wait that follows the switch starts from them.
func guardPods(ctx context.Context, cl *kube.Clients, ns, svc string, sel map[string]string) (*corev1.PodList, error) {
	pods, err := cl.Typed.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: formatSelector(sel)})
	if err != nil {
		return nil, apiErr(err, "listing the pods that selector %s would select in namespace %q", formatLabels(sel), ns)
	}
	ready := 0
	for i := range pods.Items {
		if kube.PodReady(&pods.Items[i]) {
			ready++
		}
	}
	if ready > 0 {
		return pods, nil
	}
	if len(pods.Items) == 0 {
		return pods, fmt.Errorf("service %q in namespace %q: the new selector %s matches no pod, so the switch would send traffic nowhere; nothing was changed (deploy the new version first, fix the selector, or set allow_empty = true)", svc, ns, formatLabels(sel))
	}
	return pods, fmt.Errorf("service %q in namespace %q: the new selector %s matches %s (%s) but none is ready, so the switch would send traffic nowhere; nothing was changed (wait for the pods to become ready, or set allow_empty = true)", svc, ns, formatLabels(sel), words.Count(len(pods.Items), "pod"), podNames(pods.Items, 5))
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

// noSelectorErr refuses a Service without a selector: its Endpoints or
// EndpointSlices are written by hand (an external database, a headless
// service managed by an operator), and giving it a selector would replace
// them with pods.
func noSelectorErr(name, ns string) error {
	return fmt.Errorf("service/%s in namespace %q has no selector: its endpoints are managed by hand; switch_selector would start selecting pods, so nothing was changed", name, ns)
}

// Undo puts each Service's selector back as it was before the first
// attempt, unless someone changed it since this run set it (named in a
// *steps.DriftError, restored anyway with --force). Records must name
// Services the stage switches, in its namespace (*steps.TargetError
// otherwise). It does not wait for the EndpointSlices: the controller
// follows within milliseconds, and an undo should hand back control
// quickly.
func (switchSelector) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	cl, err := env.Clients("switch_selector undo")
	if err != nil {
		return err
	}
	type key struct{ ns, name string }
	type svcUndo struct {
		prev, next map[string]string
		last       int
	}
	own, written, at := splitWritten(records)
	undo := map[key]*svcUndo{}
	var order []key
	for i := len(own) - 1; i >= 0; i-- {
		var rec selectorRecord
		if err := json.Unmarshal(own[i], &rec); err != nil {
			return fmt.Errorf("switch_selector undo: unreadable journal record %d: %w", i, err)
		}
		for _, s := range rec.Services {
			k := key{rec.Namespace, s.Name}
			u := undo[k]
			if u == nil {
				// The newest record of a Service: its Next is what the
				// last switch set.
				u = &svcUndo{next: s.Next, last: i}
				undo[k] = u
				order = append(order, k)
			}
			// Older records overwrite: what is left is the selector from
			// before the first attempt.
			u.prev = s.Selector
		}
	}
	last := lastWritten(written, at, func(r kube.Ref) (int, bool) {
		u, ok := undo[key{r.Namespace, r.Name}]
		if !ok || r.Kind != "Service" {
			return 0, false
		}
		return u.last, true
	})

	var ue steps.UndoErrors
	// The stage's Services, when the undo can evaluate them.
	c := newSelectorConfig()
	known := env.Configured(&c, "service", "services", "namespace")
	targets := map[key]bool{}
	if known {
		ns := env.NamespaceFor(c.Namespace, cl)
		for _, n := range c.serviceNames() {
			targets[key{ns, n}] = true
		}
	}
	for _, k := range order {
		what := fmt.Sprintf("service/%s in namespace %s", k.name, k.ns)
		if known && !targets[k] {
			ue.Refuse(what, "the stage does not switch this Service")
			continue
		}
		u := undo[k]
		why, err := restoreSelector(ctx, env, cl, k.ns, k.name, u.prev, u.next, last[serviceRef(k.ns, k.name)], !known)
		switch {
		case err != nil:
			ue.Add(err)
		case why != "":
			ue.Left(env, what, why)
		default:
			env.TrafficMoved(c.DrainDelay)
		}
	}
	return ue.Err()
}

// restoreSelector sets spec.selector back to exactly sel, unless someone
// changed it since this run set it (returned as why, nothing written). The
// merge patch carries the resourceVersion of the read the decision was made
// on: a change in between is a conflict, and the read and the checks are
// done again.
func restoreSelector(ctx context.Context, env *steps.Env, cl *kube.Clients, ns, name string, sel, next map[string]string, w *kube.Written, requireMark bool) (why string, err error) {
	svcs := cl.Typed.CoreV1().Services(ns)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		why = ""
		live, err := svcs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		// Already as recorded (the switch was refused, or undone
		// before): no write, so an undo needs no permission the switch
		// did not have.
		if maps.Equal(live.Spec.Selector, sel) {
			env.Report(fmt.Sprintf("service %s already selects %s", name, formatLabels(sel)))
			return nil
		}
		if requireMark && !steps.MarkedBy(env, live.Annotations) {
			return steps.Unmarked(env, fmt.Sprintf("service/%s in namespace %s", name, ns), "the stage's Services cannot be evaluated")
		}
		if !env.Force {
			switch {
			case w != nil && w.UID != "" && string(live.UID) != w.UID:
				why = "deleted and re-created since this run switched it"
			case w != nil && stringsDigest(live.Spec.Selector) != w.Digest:
				why = fmt.Sprintf("selector changed since this run set it (now %s)", formatLabels(live.Spec.Selector))
			case w == nil && next != nil && !maps.Equal(live.Spec.Selector, next):
				why = fmt.Sprintf("selector changed since this run set it to %s (now %s)", formatLabels(next), formatLabels(live.Spec.Selector))
			}
			if why != "" {
				return nil
			}
		}
		// A merge patch: the keys of sel with their values, null for keys
		// only the live selector has, so the result is exactly sel.
		patch := map[string]any{}
		for k := range live.Spec.Selector {
			if _, ok := sel[k]; !ok {
				patch[k] = nil
			}
		}
		for k, v := range sel {
			patch[k] = v
		}
		var selector any = patch
		if len(sel) == 0 {
			selector = nil
		}
		body, _ := json.Marshal(map[string]any{
			"metadata": map[string]any{"resourceVersion": live.ResourceVersion},
			"spec":     map[string]any{"selector": selector},
		})
		if _, err = svcs.Patch(ctx, name, types.MergePatchType, body, patchOpts(env)); err != nil {
			return err
		}
		// Said as the other undos say what they put back (replicas back
		// to 2), so the run's lines show the traffic going back.
		env.Report(fmt.Sprintf("service %s: selector back to %s", name, formatLabels(sel)))
		return nil
	})
	if notFound(err) {
		return "", fmt.Errorf("cannot restore the selector %s of service %q in namespace %q: the service no longer exists", formatLabels(sel), name, ns)
	}
	var te *steps.TargetError
	if errors.As(err, &te) {
		return "", err
	}
	return why, apiErr(err, "restoring the selector %s of service %q in namespace %q", formatLabels(sel), name, ns)
}
