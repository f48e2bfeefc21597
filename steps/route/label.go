package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(labelKind{}) }

// labelKind adds and removes labels for red/black releases, where a Service
// selects a label (say createBy) that moves from the old ReplicaSet's pods to
// the new one's.
//
//   - kind = "ReplicaSet" (default): the ReplicaSet's pod template AND the
//     pods it owns now, so Services follow at once and pods it creates later
//     carry the same labels. A ReplicaSet controlled by a Deployment is
//     refused: changing its template would make the Deployment roll a new
//     one.
//   - kind = "Deployment" or "StatefulSet": the pod template only, which
//     rolls the pods the way the workload's strategy says (follow with a
//     wait stage to see it through).
//   - kind = "Pod": the pods themselves (by name, or by selector).
//
// Labels the workload's selector uses cannot be removed or changed: the API
// server would reject the template, or the controller would orphan the pods
// and start new ones.
type labelKind struct{}

func (labelKind) Name() string { return "label" }

func (labelKind) Spec() hcldec.Spec {
	return &hcldec.ObjectSpec{
		"kind":      &hcldec.AttrSpec{Name: "kind", Type: cty.String},
		"name":      &hcldec.AttrSpec{Name: "name", Type: cty.String},
		"selector":  &hcldec.AttrSpec{Name: "selector", Type: cty.Map(cty.String)},
		"add":       &hcldec.AttrSpec{Name: "add", Type: cty.Map(cty.String)},
		"remove":    &hcldec.AttrSpec{Name: "remove", Type: cty.List(cty.String)},
		"namespace": &hcldec.AttrSpec{Name: "namespace", Type: cty.String},
	}
}

var labelsByName = cty.Map(cty.Map(cty.String))

func (labelKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{
		"previous":      cty.Map(cty.String),
		"previous_pods": labelsByName,
		"previous_all":  labelsByName,
	})
}

// labelKinds maps what a user may write to the kinds the step handles.
var labelKinds = map[string]string{
	"replicaset": "ReplicaSet", "replicasets": "ReplicaSet", "rs": "ReplicaSet",
	"deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
	"statefulset": "StatefulSet", "statefulsets": "StatefulSet", "sts": "StatefulSet",
	"pod": "Pod", "pods": "Pod", "po": "Pod",
}

func labelKindOf(cfg cty.Value) (string, error) {
	k := steps.Str(cfg, "kind")
	if k == "" {
		return "ReplicaSet", nil
	}
	if kk, ok := labelKinds[strings.ToLower(k)]; ok {
		return kk, nil
	}
	return "", fmt.Errorf("kind %q cannot be labelled by this step; use ReplicaSet (default), Deployment, StatefulSet or Pod", k)
}

func labelChangeOf(cfg cty.Value) labelChange {
	ch := labelChange{set: steps.StrMap(cfg, "add"), del: steps.StrList(cfg, "remove")}
	if ch.set == nil {
		ch.set = map[string]string{}
	}
	sort.Strings(ch.del)
	return ch
}

func (labelKind) Check(cfg cty.Value) []steps.Problem {
	var out []steps.Problem
	if a := steps.Attr(cfg, "kind"); a.IsKnown() && !a.IsNull() {
		if _, err := labelKindOf(cfg); err != nil {
			out = append(out, steps.Problem{Path: []string{"kind"}, Summary: "Unsupported kind", Detail: err.Error()})
		}
	}
	name, sel := steps.Attr(cfg, "name"), steps.Attr(cfg, "selector")
	if name.IsKnown() && sel.IsKnown() {
		switch {
		case name.IsNull() && sel.IsNull():
			out = append(out, steps.Problem{Path: []string{"name"}, Summary: "Nothing to label",
				Detail: `Set name = "OBJECT" or selector = { app = "web" } to choose what to label.`})
		case !name.IsNull() && !sel.IsNull():
			out = append(out, steps.Problem{Path: []string{"selector"}, Summary: "Both name and selector are set",
				Detail: "Choose the objects by name or by selector, not both."})
		case !sel.IsNull() && sel.LengthInt() == 0:
			out = append(out, steps.Problem{Path: []string{"selector"}, Summary: "Empty selector",
				Detail: "An empty selector would label every object of the kind in the namespace; give at least one label."})
		}
	}
	add, rm := steps.Attr(cfg, "add"), steps.Attr(cfg, "remove")
	if !add.IsKnown() || !rm.IsKnown() {
		return out
	}
	ch := labelChangeOf(cfg)
	if len(ch.set) == 0 && len(ch.del) == 0 {
		out = append(out, steps.Problem{Path: []string{"add"}, Summary: "No label change",
			Detail: `Give labels to add = { createBy = "v2" } and/or keys to remove = ["createBy"].`})
	}
	for _, k := range ch.del {
		if _, both := ch.set[k]; both {
			out = append(out, steps.Problem{Path: []string{"remove"}, Summary: "Label both added and removed",
				Detail: fmt.Sprintf("Label %q is in add and in remove; keep it in one of them.", k)})
		}
	}
	out = append(out, checkLabels("add", labelChange{set: ch.set})...)
	return append(out, checkLabels("remove", labelChange{del: ch.del})...)
}

// labelRecord journals, before any write, the previous value of every key
// the step touches on every object it touches (nil: the label was absent).
type labelRecord struct {
	Namespace string        `json:"namespace"`
	Objects   []labelObject `json:"objects"`
}

type labelObject struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	UID  string `json:"uid"`
	// Template is true for a workload's spec.template labels, false for an
	// object's own labels (pods).
	Template bool               `json:"template,omitempty"`
	Prev     map[string]*string `json:"prev"`
}

func prevOf(labels map[string]string, keys []string) map[string]*string {
	out := make(map[string]*string, len(keys))
	for _, k := range keys {
		if v, ok := labels[k]; ok {
			out[k] = &v
		} else {
			out[k] = nil
		}
	}
	return out
}

// restoreBody is the merge patch that takes the recorded keys back.
func restoreBody(o labelObject) []byte {
	labels := make(map[string]any, len(o.Prev))
	for k, v := range o.Prev {
		if v == nil {
			labels[k] = nil
		} else {
			labels[k] = *v
		}
	}
	return labelsPatch(labels, o.Template)
}

func labelsPatch(labels map[string]any, template bool) []byte {
	meta := map[string]any{"metadata": map[string]any{"labels": labels}}
	if template {
		meta = map[string]any{"spec": map[string]any{"template": meta}}
	}
	b, _ := json.Marshal(meta)
	return b
}

func (labelKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	kind, err := labelKindOf(cfg)
	if err != nil {
		return cty.NilVal, err
	}
	cl, err := clientsFor(env)
	if err != nil {
		return cty.NilVal, err
	}
	ns := namespaceOf(env, steps.Str(cfg, "namespace"), cl)
	ch := labelChangeOf(cfg)
	if len(ch.set) == 0 && len(ch.del) == 0 {
		return cty.NilVal, errors.New("label: nothing to change; give add and/or remove")
	}
	lt := &labeler{cl: cl, env: env, ns: ns, kind: kind, ch: ch}
	targets, err := lt.find(ctx, steps.Str(cfg, "name"), steps.StrMap(cfg, "selector"))
	if err != nil {
		return cty.NilVal, err
	}
	rec := labelRecord{Namespace: ns}
	for _, t := range targets {
		rec.Objects = append(rec.Objects, labelObject{Kind: t.kind, Name: t.name, UID: t.uid, Template: t.template, Prev: prevOf(t.labels, ch.keys())})
	}
	if !env.DryRun {
		if err := env.Record(rec); err != nil {
			return cty.NilVal, fmt.Errorf("journaling the previous labels before labelling: %w", err)
		}
	}
	// Templates first: pods a ReplicaSet creates while we relabel its
	// current pods already carry the new labels.
	body := labelsPatch(ch.patch(), false)
	tbody := labelsPatch(ch.patch(), true)
	for _, t := range targets {
		b := body
		if t.template {
			b = tbody
		}
		if err := lt.patch(ctx, t.kind, t.name, b); err != nil {
			return cty.NilVal, err
		}
	}
	return labelOutput(targets), nil
}

// labelOutput: previous is the first chosen object's labels (its template's
// for a workload), previous_pods every pod touched, previous_all every
// chosen object by name.
func labelOutput(targets []labelTarget) cty.Value {
	pods, all := map[string]cty.Value{}, map[string]cty.Value{}
	first := cty.MapValEmpty(cty.String)
	for i := len(targets) - 1; i >= 0; i-- {
		t := targets[i]
		v := strMapVal(t.labels)
		if t.kind == "Pod" {
			pods[t.name] = v
		}
		if t.chosen {
			all[t.name] = v
			first = v
		}
	}
	return cty.ObjectVal(map[string]cty.Value{
		"previous":      first,
		"previous_pods": mapOrEmpty(pods),
		"previous_all":  mapOrEmpty(all),
	})
}

func mapOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.Map(cty.String))
	}
	return cty.MapVal(m)
}

// Undo takes every touched key back to its value before the first attempt
// (the oldest record of an object wins). A ReplicaSet's pods that the
// journal does not know (created after its template changed) get the
// template's previous values, so no pod keeps a label the undo took away.
func (labelKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	cl, err := clientsFor(env)
	if err != nil {
		return err
	}
	type key struct {
		ns, kind, name string
		template       bool
	}
	prev := map[key]labelObject{}
	var order []key
	for i := len(records) - 1; i >= 0; i-- {
		var rec labelRecord
		if err := json.Unmarshal(records[i], &rec); err != nil {
			return fmt.Errorf("label undo: unreadable journal record %d: %w", i, err)
		}
		for _, o := range rec.Objects {
			k := key{rec.Namespace, o.Kind, o.Name, o.Template}
			if _, seen := prev[k]; !seen {
				order = append(order, k)
			} else {
				// Keys an earlier attempt touched that a later one did
				// not are kept: union, the older value winning.
				for kk, v := range prev[k].Prev {
					if _, ok := o.Prev[kk]; !ok {
						o.Prev[kk] = v
					}
				}
			}
			prev[k] = o
		}
	}
	var errs []error
	known := map[key]bool{}
	for _, k := range order {
		known[k] = true
	}
	for _, k := range order {
		lt := &labeler{cl: cl, env: env, ns: k.ns}
		o := prev[k]
		if err := lt.patch(ctx, o.Kind, o.Name, restoreBody(o)); err != nil {
			// A pod that is gone carries no label to restore (its
			// ReplicaSet replaced it from the restored template).
			if !(o.Kind == "Pod" && notFound(err)) {
				errs = append(errs, fmt.Errorf("undo: %w", err))
			}
			continue
		}
		if o.Kind != "ReplicaSet" || !o.Template {
			continue
		}
		pods, err := lt.ownedPods(ctx, o.Name, o.UID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range pods {
			if known[key{k.ns, "Pod", p.Name, false}] {
				continue
			}
			po := labelObject{Kind: "Pod", Name: p.Name, Prev: o.Prev}
			if err := lt.patch(ctx, "Pod", p.Name, restoreBody(po)); err != nil && !notFound(err) {
				errs = append(errs, fmt.Errorf("undo: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}
