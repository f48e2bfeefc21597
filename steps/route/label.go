package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/cutoverhq/cutover/kube"
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

func (labelKind) Doc() string {
	return "Adds and removes labels for red/black releases, where a Service selects a label that moves from " +
		"the old pods to the new ones. On a ReplicaSet (default) it changes its pod template and the pods it owns, " +
		"so Services follow at once; on a Deployment or StatefulSet the pod template only (the pods roll); on " +
		"Pods the pods themselves. Labels the workload's selector uses cannot change. The previous labels are " +
		"journaled, and the undo puts them back."
}

func (labelKind) AttrDocs() map[string]string {
	return map[string]string{
		"kind":      "`ReplicaSet` (default; not one a Deployment controls), `Deployment`, `StatefulSet` or `Pod`.",
		"name":      "The object's name (or `selector`).",
		"selector":  "Labels that choose the objects, instead of `name`.",
		"add":       "Labels to set, with their values.",
		"remove":    "Label keys to remove.",
		"namespace": "The objects' namespace (default: the pipeline's, or the run's `--namespace`).",
	}
}

// labelConfig is the label block.
type labelConfig struct {
	Kind      string            `hcl:"kind"`
	Name      *string           `hcl:"name"`
	Selector  map[string]string `hcl:"selector"`
	Add       map[string]string `hcl:"add"`
	Remove    []string          `hcl:"remove"`
	Namespace string            `hcl:"namespace"`
}

var labelSpec = steps.SpecFor[labelConfig]()

func (labelKind) Spec() hcldec.Spec { return labelSpec }

// name is the object chosen by name ("" when chosen by selector).
func (c labelConfig) name() string {
	if c.Name == nil {
		return ""
	}
	return *c.Name
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

func labelKindOf(k string) (string, error) {
	if k == "" {
		return "ReplicaSet", nil
	}
	if kk, ok := labelKinds[strings.ToLower(k)]; ok {
		return kk, nil
	}
	return "", fmt.Errorf("kind %q cannot be labelled by this step; use ReplicaSet (default), Deployment, StatefulSet or Pod", k)
}

func (c labelConfig) change() labelChange {
	ch := labelChange{set: maps.Clone(c.Add), del: slices.Clone(c.Remove)}
	if ch.set == nil {
		ch.set = map[string]string{}
	}
	sort.Strings(ch.del)
	return ch
}

func (labelKind) Check(cfg cty.Value) []steps.Problem {
	var c labelConfig
	u, err := steps.Decode(cfg, &c)
	out := steps.ProblemsOf(err)
	if !u.Has("kind") {
		if _, err := labelKindOf(c.Kind); err != nil {
			out = append(out, steps.Problem{Path: []string{"kind"}, Summary: "Unsupported kind", Detail: err.Error()})
		}
	}
	if !u.Has("name", "selector") {
		switch {
		case c.Name == nil && c.Selector == nil:
			out = append(out, steps.Problem{Path: []string{"name"}, Summary: "Nothing to label",
				Detail: `Set name = "OBJECT" or selector = { app = "web" } to choose what to label.`})
		case c.Name != nil && c.Selector != nil:
			out = append(out, steps.Problem{Path: []string{"selector"}, Summary: "Both name and selector are set",
				Detail: "Choose the objects by name or by selector, not both."})
		case c.Selector != nil && len(c.Selector) == 0:
			out = append(out, steps.Problem{Path: []string{"selector"}, Summary: "Empty selector",
				Detail: "An empty selector would label every object of the kind in the namespace; give at least one label."})
		}
	}
	if u.Has("add", "remove") {
		return out
	}
	ch := c.change()
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
	// Set is what the step is about to set on every object (nil: remove),
	// for an undo that lost the notes written after the patches.
	Set map[string]*string `json:"set,omitempty"`
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

// restoreBody is the merge patch that takes the recorded keys back; with
// rv, only if the object is still at that resourceVersion.
func restoreBody(o labelObject, rv string) []byte {
	labels := make(map[string]any, len(o.Prev))
	for k, v := range o.Prev {
		if v == nil {
			labels[k] = nil
		} else {
			labels[k] = *v
		}
	}
	md := map[string]any{}
	if rv != "" {
		md["resourceVersion"] = rv
	}
	return labelsPatch(labels, o.Template, md)
}

// labelsPatch sets labels on an object, or on its pod template; md is more
// of the object's own metadata (the run's mark, a resourceVersion), never
// the template's, which would roll the pods.
func labelsPatch(labels map[string]any, template bool, md map[string]any) []byte {
	lm := map[string]any{"labels": labels}
	var body map[string]any
	if template {
		body = map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": lm}}}
		if len(md) > 0 {
			body["metadata"] = md
		}
	} else {
		for k, v := range md {
			lm[k] = v
		}
		body = map[string]any{"metadata": lm}
	}
	b, _ := json.Marshal(body)
	return b
}

// keysDigest covers what the step sets on one object: the values of the
// label keys it touches (absent keys absent).
func keysDigest(labels map[string]string, keys []string) string {
	m := map[string]string{}
	for _, k := range keys {
		if v, ok := labels[k]; ok {
			m[k] = v
		}
	}
	return stringsDigest(m)
}

// labelRef names a labelled object as Written facts name it.
func labelRef(ns, kind, name string) kube.Ref {
	switch kind {
	case "Pod":
		return kube.Ref{APIVersion: "v1", Kind: kind, Resource: "pods", Namespace: ns, Name: name}
	}
	return kube.Ref{APIVersion: "apps/v1", Kind: kind, Resource: strings.ToLower(kind) + "s", Namespace: ns, Name: name}
}

func (labelKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	var c labelConfig
	if _, err := steps.Decode(cfg, &c); err != nil {
		return cty.NilVal, err
	}
	kind, err := labelKindOf(c.Kind)
	if err != nil {
		return cty.NilVal, err
	}
	cl, err := env.Clients("label")
	if err != nil {
		return cty.NilVal, err
	}
	ns := env.NamespaceFor(c.Namespace, cl)
	ch := c.change()
	if len(ch.set) == 0 && len(ch.del) == 0 {
		return cty.NilVal, errors.New("label: nothing to change; give add and/or remove")
	}
	lt := &labeler{cl: cl, env: env, ns: ns, kind: kind, ch: ch}
	if name := c.name(); env.DryRun && name != "" && kind != "Pod" {
		if v, done, err := lt.rehearse(ctx, name); done {
			return v, err
		}
	}
	targets, err := lt.find(ctx, c.name(), c.Selector)
	if err != nil {
		return cty.NilVal, err
	}
	rec := labelRecord{Namespace: ns, Set: map[string]*string{}}
	for k, v := range ch.set {
		rec.Set[k] = &v
	}
	for _, k := range ch.del {
		rec.Set[k] = nil
	}
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
	var md map[string]any
	if m := steps.MarkAnnotations(env, nil); m != nil {
		md = map[string]any{"annotations": m}
	}
	body := labelsPatch(ch.patch(), false, md)
	tbody := labelsPatch(ch.patch(), true, md)
	keys := ch.keys()
	for _, t := range targets {
		b := body
		if t.template {
			b = tbody
		}
		st, err := lt.patch(ctx, t.kind, t.name, t.template, b)
		if err != nil {
			return cty.NilVal, err
		}
		if !env.DryRun {
			env.Remember(kube.Written{Wrote: labelRef(ns, t.kind, t.name), UID: st.uid, Digest: keysDigest(st.labels, keys)})
		}
	}
	return labelOutput(targets), nil
}

// rehearse is a dry run's label of the workload name that the stages
// before it leave (steps.Env.Rehearse): its template's labels from theirs;
// its pods exist once the writes are real. done is false for a workload
// they do not write: the dry run of the live one's follows.
func (lt *labeler) rehearse(ctx context.Context, name string) (v cty.Value, done bool, err error) {
	r := labelRef(lt.ns, lt.kind, name)
	obj, err := lt.env.StartingPlanned(ctx, lt.cl, r)
	if obj == nil {
		return cty.NilVal, err != nil, err
	}
	labels, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "template", "metadata", "labels")
	if err := unstructured.SetNestedStringMap(obj.Object, lt.ch.apply(labels), "spec", "template", "metadata", "labels"); err != nil {
		return cty.NilVal, true, err
	}
	if _, err := lt.env.Rehearse(ctx, lt.cl, r, obj); err != nil {
		return cty.NilVal, true, err
	}
	if lt.kind == "ReplicaSet" {
		lt.env.Report(fmt.Sprintf("dry run: pods of %s (known after %s) not labelled: a dry run starts no pod", r.Short(), strings.Join(lt.env.Planned.KnownAfter(r), ", ")))
	}
	return labelOutput([]labelTarget{{kind: lt.kind, name: name, template: true, chosen: true, labels: labels}}), true, nil
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
// An object whose touched labels changed since this run set them is left
// as is and named in a *steps.DriftError (--force restores anyway).
// Records must name objects the stage labels: its kind (and the pods of a
// ReplicaSet) in its namespace, by its name; when the stage chooses by
// selector or cannot be evaluated, objects carrying the run's mark.
func (labelKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	cl, err := env.Clients("label undo")
	if err != nil {
		return err
	}
	type key struct {
		ns, kind, name string
		template       bool
	}
	own, written, at := splitWritten(records)
	prev := map[key]labelObject{}
	set := map[key]map[string]*string{}
	lastAt := map[kube.Ref]int{}
	var order []key
	for i := len(own) - 1; i >= 0; i-- {
		var rec labelRecord
		if err := json.Unmarshal(own[i], &rec); err != nil {
			return fmt.Errorf("label undo: unreadable journal record %d: %w", i, err)
		}
		for _, o := range rec.Objects {
			k := key{rec.Namespace, o.Kind, o.Name, o.Template}
			if _, seen := prev[k]; !seen {
				order = append(order, k)
				set[k] = rec.Set
				lastAt[labelRef(k.ns, k.kind, k.name)] = i
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
	last := lastWritten(written, at, func(r kube.Ref) (int, bool) {
		n, ok := lastAt[r]
		return n, ok
	})

	// What the stage labels, as the undo evaluates it. byName is false
	// when it chooses by selector (or cannot be evaluated): the objects it
	// labelled are then known by the run's mark only.
	var c labelConfig
	known := env.Configured(&c, "kind", "name", "selector", "namespace")
	var cfgNS, cfgKind, cfgName string
	if known {
		cfgNS = env.NamespaceFor(c.Namespace, cl)
		cfgName = c.name()
		if cfgKind, err = labelKindOf(c.Kind); err != nil {
			known = false
		}
	}
	byName := known && cfgName != ""

	var ue steps.UndoErrors
	known2 := map[key]bool{}
	for _, k := range order {
		known2[k] = true
	}
	for _, k := range order {
		o := prev[k]
		what := fmt.Sprintf("%s/%s in namespace %s", strings.ToLower(k.kind), k.name, k.ns)
		if known {
			ownPod := cfgKind == "ReplicaSet" && k.kind == "Pod"
			switch {
			case k.ns != cfgNS:
				ue.Refuse(what, fmt.Sprintf("the stage labels objects in namespace %s", cfgNS))
				continue
			case k.kind != cfgKind && !ownPod:
				ue.Refuse(what, fmt.Sprintf("the stage labels %s objects", cfgKind))
				continue
			case byName && !ownPod && k.name != cfgName:
				ue.Refuse(what, fmt.Sprintf("the stage labels %s/%s", strings.ToLower(cfgKind), cfgName))
				continue
			}
		}
		lt := &labeler{cl: cl, env: env, ns: k.ns}
		g := labelGuard{mark: !byName, owner: "", written: last[labelRef(k.ns, k.kind, k.name)], set: set[k]}
		if byName && k.kind == "Pod" && cfgKind == "ReplicaSet" {
			g.owner = cfgName
		}
		why, err := lt.restore(ctx, o, g)
		switch {
		case err != nil:
			// A pod that is gone carries no label to restore (its
			// ReplicaSet replaced it from the restored template).
			if !(o.Kind == "Pod" && notFound(err)) {
				ue.Add(err)
			}
			continue
		case why != "":
			ue.Left(env, what, why)
			continue
		}
		if o.Kind != "ReplicaSet" || !o.Template {
			continue
		}
		pods, err := lt.ownedPods(ctx, o.Name, o.UID)
		if err != nil {
			ue.Add(err)
			continue
		}
		for _, p := range pods {
			if known2[key{k.ns, "Pod", p.Name, false}] {
				continue
			}
			// Pods the journal does not know: the ReplicaSet made them
			// from the template this run changed, so they are its own.
			po := labelObject{Kind: "Pod", Name: p.Name, Prev: o.Prev}
			if err := lt.patchOnly(ctx, "Pod", p.Name, restoreBody(po, "")); err != nil && !notFound(err) {
				ue.Add(fmt.Errorf("undo: %w", err))
			}
		}
	}
	return ue.Err()
}

// labelGuard is what the undo of one labelled object checks before it
// writes.
type labelGuard struct {
	mark    bool   // the object must carry the run's mark
	owner   string // a pod must be controlled by this ReplicaSet
	written *kube.Written
	set     map[string]*string
}

// restore takes the recorded keys of one object back, unless someone
// changed them since this run set them (why). The patch carries the
// resourceVersion read, so a change in between is a conflict and the
// checks are made again on a fresh read.
func (l *labeler) restore(ctx context.Context, o labelObject, g labelGuard) (why string, err error) {
	what := fmt.Sprintf("%s/%s in namespace %s", strings.ToLower(o.Kind), o.Name, l.ns)
	keys := make([]string, 0, len(o.Prev))
	for k := range o.Prev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		why = ""
		st, err := l.read(ctx, o.Kind, o.Name, o.Template)
		if err != nil {
			return err
		}
		as := true
		for k, v := range o.Prev {
			cur, ok := st.labels[k]
			if ok != (v != nil) || (ok && cur != *v) {
				as = false
			}
		}
		if as {
			return nil // as recorded: nothing to write
		}
		if g.owner != "" && st.controller != g.owner {
			return &steps.TargetError{Record: what, Why: fmt.Sprintf("the stage labels replicaset/%s and its pods; this pod is not one of them", g.owner)}
		}
		if g.mark && !steps.MarkedBy(l.env, st.annotations) {
			return steps.Unmarked(l.env, what, "the stage chooses what it labels by selector or cannot be evaluated")
		}
		if !l.env.Force {
			w := g.written
			switch {
			case w != nil && w.UID != "" && st.uid != w.UID:
				why = "deleted and re-created since this run labelled it"
			case w != nil && keysDigest(st.labels, keys) != w.Digest:
				why = "labels changed since this run set them"
			case w == nil && g.set != nil && !setAsIntended(st.labels, g.set, keys):
				why = "labels changed since this run set them"
			}
			if why != "" {
				return nil
			}
		}
		return l.patchOnly(ctx, o.Kind, o.Name, restoreBody(o, st.rv))
	})
	var te *steps.TargetError
	if errors.As(err, &te) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("undo: %w", err)
	}
	return why, nil
}

// setAsIntended reports whether the keys are as the step meant to set them.
func setAsIntended(labels map[string]string, set map[string]*string, keys []string) bool {
	for _, k := range keys {
		v, touched := set[k]
		if !touched {
			continue
		}
		cur, ok := labels[k]
		if ok != (v != nil) || (ok && cur != *v) {
			return false
		}
	}
	return true
}
