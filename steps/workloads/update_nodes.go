package workloads

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(updateNodesKind{}) }

// updateNodesKind rolls a DaemonSet's template out to the nodes a label
// selector picks: a canary of a node agent on a subset of the nodes, then
// on all of them. The DaemonSet uses updateStrategy OnDelete, so applying
// its new template changes no pod; this step replaces the pods of the
// chosen nodes, max_unavailable nodes at a time, each batch ready on the
// new template before the next (docs/language.md, "Step kinds").
//
//	update_nodes {
//	  daemonset = "agent"
//	  nodes     = { "cutover.dev/canary" = "true" }   # none: every node
//	}
type updateNodesKind struct{}

func (updateNodesKind) Name() string { return "update_nodes" }

// updateNodesConfig is the update_nodes block.
type updateNodesConfig struct {
	DaemonSet      string            `hcl:"daemonset,required"`
	Namespace      string            `hcl:"namespace"`
	Nodes          map[string]string `hcl:"nodes"`
	MaxUnavailable int64             `hcl:"max_unavailable"`
	// MaxSurge is only read to refuse it (surgeRefused).
	MaxSurge cty.Value `hcl:"max_surge,type=dynamic"`
}

// surgeRefused is why update_nodes takes no max_surge (docs/language.md,
// "Step kinds"): checked on the local control plane's DaemonSet controller,
// which surges only under RollingUpdate, on every node, and under OnDelete
// deletes a second pod it finds on a node.
const surgeRefused = "update_nodes replaces pods on the nodes it picks, which needs the DaemonSet's updateStrategy OnDelete; " +
	"a DaemonSet surges (a new pod beside the old one on a node) only under updateStrategy RollingUpdate with maxSurge, " +
	"where its controller replaces the pods of every node itself and no subset can be picked, and under OnDelete its " +
	"controller keeps one pod per node. Remove max_surge: update_nodes replaces max_unavailable nodes' pods at a time. " +
	"For a surge on every node, give the DaemonSet updateStrategy RollingUpdate with rollingUpdate.maxSurge and release " +
	"it with deploy alone, which waits for its rollout."

func newUpdateNodesConfig() updateNodesConfig { return updateNodesConfig{MaxUnavailable: 1} }

var updateNodesSpec = steps.SpecFor[updateNodesConfig]()

func (updateNodesKind) Spec() hcldec.Spec { return updateNodesSpec }

func (updateNodesKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"nodes": cty.List(cty.String), "revision": cty.String, "updated": cty.Number})
}

func (updateNodesKind) Doc() string {
	return "Replaces a DaemonSet's pods on the nodes whose labels match `nodes` (every node without it) with pods of its " +
		"current template, `max_unavailable` nodes at a time, each batch Ready before the next. The DaemonSet must use " +
		"`updateStrategy: OnDelete`, so that the `deploy` applying its new template changes no pod: a canary on a node " +
		"subset is this step with `nodes`, a gate, then this step without. Undo runs after the other compensations " +
		"(the deploy's undo restores the template first) and replaces the pods it updated again, so they come back on " +
		"the restored template; a pod or node someone changed since is left as is and named."
}

func (updateNodesKind) AttrDocs() map[string]string {
	return map[string]string{
		"daemonset":       "The DaemonSet's name.",
		"namespace":       "Its namespace; the pipeline's by default.",
		"nodes":           "Labels a node must have for its pod to be updated (a node selector); every node of the DaemonSet when not set. Labels that match none of the DaemonSet's nodes fail the step (a typo would otherwise skip the canary).",
		"max_unavailable": "How many nodes' pods are replaced at once (default 1).",
		"max_surge":       "Refused, with why: a DaemonSet surges only under updateStrategy RollingUpdate, where its controller rolls every node, never a picked subset.",
	}
}

func (updateNodesKind) Check(cfg cty.Value) []steps.Problem {
	c := newUpdateNodesConfig()
	u, err := steps.Decode(cfg, &c)
	ps := steps.ProblemsOf(err)
	if !u.Has("max_unavailable") && c.MaxUnavailable < 1 {
		ps = append(ps, steps.Problem{Path: []string{"max_unavailable"}, Summary: "Invalid max_unavailable",
			Detail: fmt.Sprintf("max_unavailable is how many nodes' pods are replaced at once, at least 1; got %d", c.MaxUnavailable)})
	}
	if !c.MaxSurge.IsNull() {
		ps = append(ps, steps.Problem{Path: []string{"max_surge"}, Summary: "update_nodes cannot surge", Detail: surgeRefused})
	}
	if !u.Has("nodes") && c.Nodes != nil {
		if _, err := labels.ValidatedSelectorFromSet(c.Nodes); err != nil {
			ps = append(ps, steps.Problem{Path: []string{"nodes"}, Summary: "Invalid node labels", Detail: err.Error()})
		}
	}
	return ps
}

// UndoShrinks: the undo replaces pods, and must follow the deploy's undo,
// which restores the template they are re-created from.
func (updateNodesKind) UndoShrinks(records []json.RawMessage) bool { return len(records) > 0 }

// nodesRecord is, before the step replaces pods, the revision (template
// hash) it rolls out and, by node, the revision of the pod it replaces.
type nodesRecord struct {
	Ref    kube.Ref          `json:"ref"`
	Update string            `json:"update"`
	Nodes  map[string]string `json:"nodes"` // node → revision before
}

func (k updateNodesKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	uc := newUpdateNodesConfig()
	if _, err := steps.Decode(cfg, &uc); err != nil {
		return cty.NilVal, err
	}
	c, err := env.Clients("update_nodes")
	if err != nil {
		return cty.NilVal, err
	}
	r, err := ref(c, "DaemonSet", env.NamespaceFor(uc.Namespace, c), uc.DaemonSet)
	if err != nil {
		return cty.NilVal, err
	}
	if env.DryRun {
		// A DaemonSet only the stages before create (a first release's
		// deploy) has no pod yet for this step to replace node by node;
		// the live one's pods are read as in a run.
		switch live, err := c.Get(ctx, r); {
		case err != nil:
			return cty.NilVal, steps.APIError(err)
		case live == nil:
			obj, planned := env.Planned.Object(r)
			if !planned {
				if err := env.Unfollowed(r); err != nil {
					return cty.NilVal, err
				}
				break
			}
			if err := onDelete(r, obj); err != nil {
				return cty.NilVal, err
			}
			return cty.NilVal, steps.NotRehearsed(nodesOutput(nil, "", 0),
				fmt.Sprintf("%s is created by %s: the pods it replaces on the nodes it picks exist once the writes are real", r.Short(), strings.Join(env.Planned.KnownAfter(r), ", ")))
		}
	}
	ds, hash, err := daemonSetRevision(ctx, env, c, r)
	if err != nil {
		return cty.NilVal, err
	}
	if err := onDelete(r, ds); err != nil {
		return cty.NilVal, err
	}
	pods, err := workloadPods(ctx, c, ds)
	if err != nil {
		return cty.NilVal, err
	}
	picked, err := nodesMatching(ctx, c, pods, uc.Nodes)
	if err != nil {
		return cty.NilVal, err
	}
	rec := nodesRecord{Ref: r, Update: hash, Nodes: map[string]string{}}
	var todo []*corev1.Pod
	onPicked := 0
	for i := range pods {
		p := &pods[i]
		if !picked[nodeOf(p)] || p.DeletionTimestamp != nil {
			continue
		}
		onPicked++
		if revisionOf(p) != hash {
			rec.Nodes[nodeOf(p)] = revisionOf(p)
			todo = append(todo, p)
		}
	}
	nodes := slices.Sorted(func(yield func(string) bool) {
		for n := range picked {
			if !yield(n) {
				return
			}
		}
	})
	// A template that no longer runs on the nodes (a nodeSelector, affinity
	// or toleration that excludes them) has had their pods removed by the
	// controller: a step that "updated" nothing would let the release pass
	// with the workload gone from them.
	if desired, found, _ := unstructured.NestedInt64(ds.Object, "status", "desiredNumberScheduled"); found && desired == 0 && !env.DryRun {
		return cty.NilVal, fmt.Errorf("%s schedules no pod on any node: its template's nodeSelector, affinity or tolerations match none, so the release would remove it from every node", r)
	}
	// A selector that picks none of the DaemonSet's nodes (a typo in a
	// label) would update no pod and pass, and the stage after it would
	// release to every node: the canary skipped without a word.
	// A dry run reads the pods of the template before the deploy, which a
	// new template may place on other nodes: it says so, and goes on.
	if len(uc.Nodes) > 0 && len(nodes) == 0 {
		err := noNodePicked(r, uc.Nodes, pods)
		switch {
		case !env.DryRun:
			return cty.NilVal, err
		case len(pods) > 0:
			env.Report("dry run: " + err.Error() + "; the run fails here unless the new template runs on a node the selector picks")
		}
	}
	if len(nodes) > 0 && onPicked == 0 && !env.DryRun {
		return cty.NilVal, fmt.Errorf("%s has no pod on any of the %s it picked (%s): its template does not schedule there (nodeSelector, affinity or tolerations), so the release would remove it from them", r, words.Count(len(nodes), "node"), strings.Join(nodes, ", "))
	}
	env.Report(pickedLine(r.Short(), len(nodes), len(todo), hash))
	if env.DryRun || len(todo) == 0 {
		return nodesOutput(nodes, hash, 0), nil
	}
	if err := steps.RecordBefore(env, rec); err != nil {
		return cty.NilVal, err
	}
	if err := replaceByNode(ctx, env, c, r, ds, todo, hash, uc.MaxUnavailable); err != nil {
		return cty.NilVal, err
	}
	return nodesOutput(nodes, hash, len(todo)), nil
}

// onDelete refuses a DaemonSet whose controller replaces its pods itself.
func onDelete(r kube.Ref, ds *unstructured.Unstructured) error {
	if t, _, _ := unstructured.NestedString(ds.Object, "spec", "updateStrategy", "type"); t != "OnDelete" {
		return fmt.Errorf("%s uses updateStrategy %s: its controller replaces the pods of every node itself; a rollout by node needs updateStrategy OnDelete in its manifest", r, orDefault(t, "RollingUpdate"))
	}
	return nil
}

func nodesOutput(nodes []string, hash string, updated int) cty.Value {
	list := cty.ListValEmpty(cty.String)
	if len(nodes) > 0 {
		vals := make([]cty.Value, len(nodes))
		for i, n := range nodes {
			vals[i] = cty.StringVal(n)
		}
		list = cty.ListVal(vals)
	}
	return cty.ObjectVal(map[string]cty.Value{"nodes": list, "revision": cty.StringVal(hash), "updated": cty.NumberIntVal(int64(updated))})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// daemonSetRevision waits until the DaemonSet's controller has observed
// its spec and returns it with the hash of its current template: the
// newest ControllerRevision it owns (a DaemonSet's status does not say).
func daemonSetRevision(ctx context.Context, env *steps.Env, c *kube.Clients, r kube.Ref) (*unstructured.Unstructured, string, error) {
	ds, err := c.Get(ctx, r)
	if err != nil {
		return nil, "", steps.APIError(err)
	}
	if ds == nil {
		return nil, "", fmt.Errorf("%s does not exist", r)
	}
	if ds, err = c.WaitFrom(ctx, r, ds, kube.Observed, env.Report); err != nil {
		return nil, "", steps.APIError(err)
	}
	sel, err := selectorOf(ds)
	if err != nil {
		return nil, "", err
	}
	revs, err := c.Typed.AppsV1().ControllerRevisions(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, "", steps.APIError(fmt.Errorf("listing the revisions of %s: %w", r, err))
	}
	hash, newest := "", int64(-1)
	for _, cr := range revs.Items {
		if ref := metav1.GetControllerOf(&cr); ref != nil && ref.UID == ds.GetUID() && cr.Revision > newest {
			hash, newest = cr.Labels["controller-revision-hash"], cr.Revision
		}
	}
	if hash == "" {
		return nil, "", steps.Retryable(fmt.Errorf("%s has no controller revision yet", r))
	}
	return ds, hash, nil
}

// pickedLine says how many nodes the step picked and how many of their pods
// it replaces to reach revision hash: "1 picked node, 0 to update: its pod
// already runs abc".
func pickedLine(name string, picked, todo int, hash string) string {
	s := fmt.Sprintf("%s: %s, %d to update", name, words.Count(picked, "picked node"), todo)
	switch {
	case picked == 0:
		return s
	case todo == 0 && picked == 1:
		return s + ": its pod already runs " + hash
	case todo == 0:
		return s + ": their pods already run " + hash
	case todo == picked:
		return s + " to " + hash
	}
	verb := "run"
	if picked-todo == 1 {
		verb = "runs"
	}
	return fmt.Sprintf("%s to %s (%d already %s it)", s, hash, picked-todo, verb)
}

// noNodePicked is the failure of a node selector that matches none of the
// nodes the DaemonSet's pods run on.
func noNodePicked(r kube.Ref, sel map[string]string, pods []corev1.Pod) error {
	runs := map[string]bool{}
	for i := range pods {
		if n := nodeOf(&pods[i]); n != "" {
			runs[n] = true
		}
	}
	names := slices.Sorted(maps.Keys(runs))
	if len(names) > 5 {
		names = append(names[:5], "…")
	}
	s := labels.SelectorFromSet(sel).String()
	return fmt.Errorf("%s: the nodes selector %s matches none of the %s it runs on (%s), so this stage would update no pod and the release would go on without it; check the labels (kubectl get nodes -l %s)",
		r, s, words.Count(len(runs), "node"), strings.Join(names, ", "), words.Shell(s))
}

// nodesMatching is the set of nodes of the pods (nodeOf) whose labels match
// sel (every one when sel is empty).
func nodesMatching(ctx context.Context, c *kube.Clients, pods []corev1.Pod, sel map[string]string) (map[string]bool, error) {
	out := map[string]bool{}
	want := labels.SelectorFromSet(sel)
	for i := range pods {
		n := nodeOf(&pods[i])
		if n == "" || out[n] {
			continue
		}
		if len(sel) > 0 {
			node, err := c.Typed.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return nil, steps.APIError(fmt.Errorf("reading node %s: %w", n, err))
			}
			if !want.Matches(labels.Set(node.Labels)) {
				continue
			}
		}
		out[n] = true
	}
	return out, nil
}

// replaceByNode deletes the pods, batch nodes at a time, and waits after
// each batch until each of its nodes runs a pod of the DaemonSet at
// revision want, Ready.
func replaceByNode(ctx context.Context, env *steps.Env, c *kube.Clients, r kube.Ref, ds *unstructured.Unstructured, pods []*corev1.Pod, want string, batch int64) error {
	sel, err := selectorOf(ds)
	if err != nil {
		return err
	}
	slices.SortFunc(pods, func(a, b *corev1.Pod) int { return strings.Compare(nodeOf(a), nodeOf(b)) })
	for len(pods) > 0 {
		n := min(int(batch), len(pods))
		group := pods[:n]
		pods = pods[n:]
		var names []string
		for _, p := range group {
			names = append(names, nodeOf(p))
			if err := deletePod(ctx, c, p); err != nil {
				return err
			}
		}
		env.Report(fmt.Sprintf("%s: replacing the pods of %s", r.Short(), strings.Join(names, ", ")))
		err := waitPods(ctx, c, r.Namespace, sel, func(seen map[types.UID]*corev1.Pod) (bool, string) {
			var waiting []string
			for _, node := range names {
				ok := false
				for _, q := range seen {
					if nodeOf(q) == node && ownedBy(q, ds.GetUID()) && revisionOf(q) == want && serving(q) {
						ok = true
					}
				}
				if !ok {
					waiting = append(waiting, node)
				}
			}
			if len(waiting) > 0 {
				msg := fmt.Sprintf("%s: waiting for a ready pod at %s on %s", r.Short(), want, strings.Join(waiting, ", "))
				if s := kube.Unschedulable(seen); s != "" {
					msg += "; " + s
				}
				return false, msg
			}
			return true, fmt.Sprintf("%s: %s ready at %s", r.Short(), strings.Join(names, ", "), want)
		}, env.Report)
		if err != nil {
			return err
		}
	}
	return nil
}

// Undo replaces again, max_unavailable nodes at a time, the pods the step
// updated that still run the revision it rolled out, once the template is
// another (the deploy's undo, which runs first, restored it), so they come
// back on the restored template. A template still at that revision, or a
// node whose pod ran a revision other than the restored one before, is
// left as is and named in a *steps.DriftError. Records must name the
// DaemonSet the stage targets.
func (updateNodesKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	if len(records) == 0 {
		return nil
	}
	c, err := env.Clients("update_nodes undo")
	if err != nil {
		return err
	}
	order, _, err := steps.GroupRecords(records, func(r nodesRecord) kube.Ref { return r.Ref }, nil, "update_nodes undo record %d: %w")
	if err != nil {
		return err
	}
	uc := newUpdateNodesConfig()
	known := env.Configured(&uc, "daemonset", "namespace")
	target, err := workloadTarget(env, c, "DaemonSet", uc.DaemonSet, uc.Namespace, known)
	if err != nil {
		return err
	}
	batch := max(uc.MaxUnavailable, 1)
	var errs []error
	var drift []string
	leave := func(msg string) {
		env.Report(msg)
		drift = append(drift, msg)
	}
	for _, r := range order {
		if err := target(r); err != nil {
			errs = append(errs, err)
			continue
		}
		// Every attempt's nodes: a later attempt records only what the
		// earlier ones left.
		before := map[string]string{}
		var update string
		for _, raw := range records {
			var rec nodesRecord
			if json.Unmarshal(raw, &rec) == nil && rec.Ref == r {
				update = rec.Update
				for n, rev := range rec.Nodes {
					if _, ok := before[n]; !ok {
						before[n] = rev
					}
				}
			}
		}
		ds, hash, err := daemonSetRevision(ctx, env, c, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if hash == update {
			leave(fmt.Sprintf("%s: its template is still the one this run rolled out (%s), so re-created pods would run it again; left as is", r, update))
			continue
		}
		pods, err := workloadPods(ctx, c, ds)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var todo []*corev1.Pod
		for i := range pods {
			p := &pods[i]
			was, ours := before[nodeOf(p)]
			switch {
			case !ours || p.DeletionTimestamp != nil || revisionOf(p) != update:
			case was != hash && !env.Force:
				leave(fmt.Sprintf("%s: the pod on %s ran %s before this run, and the template is now %s; left as is", r, nodeOf(p), was, hash))
			default:
				todo = append(todo, p)
			}
		}
		if len(todo) == 0 {
			env.Report(r.Short() + ": no pod to bring back")
			continue
		}
		if err := replaceByNode(ctx, env, c, r, ds, todo, hash, batch); err != nil {
			errs = append(errs, err)
		}
	}
	return steps.JoinUndo(errs, drift)
}

// Permissions of update_nodes: the DaemonSet and its revisions read, its
// pods listed, deleted and watched, and the nodes' labels read.
func (updateNodesKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	return []steps.Permission{
		perm(Resource{Group: "apps", Resource: "daemonsets", Namespaced: true}, "read the DaemonSet and wait for its controller", "get", "list", "watch"),
		perm(Resource{Group: "apps", Resource: "controllerrevisions", Namespaced: true}, "find the DaemonSet's current template hash", "list"),
		perm(Resource{Resource: "pods", Namespaced: true}, "replace the pods of the picked nodes and wait for their successors; undo replaces them again", "list", "watch", "delete"),
		perm(Resource{Resource: "nodes"}, "read the labels of the nodes the DaemonSet runs on", "get"),
	}, nil
}
