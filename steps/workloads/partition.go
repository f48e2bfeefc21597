package workloads

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(partitionKind{}) }

// partitionKind sets the partition of a StatefulSet's rolling update: the
// pods with an ordinal at or above it get the update revision (the
// template the last deploy applied), the others keep the current one. A
// canary of a StatefulSet is its partition stepped down, 3 → 2 → 0, with
// gates between (docs/language.md, "Step kinds").
//
//	partition { statefulset = "db", partition = 2 }
type partitionKind struct{}

func (partitionKind) Name() string { return "partition" }

// partitionConfig is the partition block.
type partitionConfig struct {
	StatefulSet string `hcl:"statefulset,required"`
	Namespace   string `hcl:"namespace"`
	Partition   int64  `hcl:"partition,required"`
	Wait        bool   `hcl:"wait"`
}

func newPartitionConfig() partitionConfig { return partitionConfig{Wait: true} }

var partitionSpec = steps.SpecFor[partitionConfig]()

func (partitionKind) Spec() hcldec.Spec { return partitionSpec }

func (partitionKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{
		"previous": cty.Number, "partition": cty.Number, "revision": cty.String, "updated": cty.Number,
	})
}

func (partitionKind) Doc() string {
	return "Sets `spec.updateStrategy.rollingUpdate.partition` of a StatefulSet and waits until the pods at or above it " +
		"run the update revision and every pod is ready. Step it down (3 → 2 → 0) with gates between for a canary; the " +
		"manifest the `deploy` before applies sets the partition to the replica count, so the new template reaches no pod " +
		"until a partition step lowers it. Undo puts the partition back and deletes the pods this step updated, one at a " +
		"time, so the controller re-creates them at the current revision; a partition or pod someone changed since is " +
		"left as is and named."
}

func (partitionKind) AttrDocs() map[string]string {
	return map[string]string{
		"statefulset": "The StatefulSet's name.",
		"namespace":   "Its namespace; the pipeline's by default.",
		"partition":   "Pods with an ordinal at or above it get the update revision; 0 updates them all.",
		"wait":        "Wait for the pods at or above the partition to run the update revision and be ready (default true).",
	}
}

func (partitionKind) Check(cfg cty.Value) []steps.Problem {
	pc := newPartitionConfig()
	u, err := steps.Decode(cfg, &pc)
	if ps := steps.ProblemsOf(err); ps != nil || u.Has("partition") {
		return ps
	}
	if pc.Partition < 0 {
		return []steps.Problem{{Path: []string{"partition"}, Summary: "Invalid partition",
			Detail: fmt.Sprintf("partition is an ordinal, zero or more; got %d", pc.Partition)}}
	}
	return nil
}

// partitionRecord is the partition before the step and the revision of
// each pod the step is about to update, for the undo; Want is the partition
// it sets and Update the revision it rolls out.
type partitionRecord struct {
	Ref       kube.Ref          `json:"ref"`
	Partition int64             `json:"partition"`
	Want      int64             `json:"want"`
	Update    string            `json:"update"`
	Pods      map[string]string `json:"pods,omitempty"` // name → revision
}

func (partitionKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	pc := newPartitionConfig()
	if _, err := steps.Decode(cfg, &pc); err != nil {
		return cty.NilVal, err
	}
	c, err := env.Clients("partition")
	if err != nil {
		return cty.NilVal, err
	}
	r, err := ref(c, "StatefulSet", env.NamespaceFor(pc.Namespace, c), pc.StatefulSet)
	if err != nil {
		return cty.NilVal, err
	}
	if env.DryRun {
		if v, done, err := rehearsePartition(ctx, env, c, r, pc.Partition); done {
			return v, err
		}
	}
	// The update revision is the controller's: a template applied a moment
	// ago has one only once the controller has observed it.
	live, err := c.Get(ctx, r)
	if err != nil {
		return cty.NilVal, steps.APIError(err)
	}
	if live == nil {
		return cty.NilVal, fmt.Errorf("partition: %s does not exist", r)
	}
	if live, err = c.WaitFrom(ctx, r, live, kube.Observed, env.Report); err != nil {
		return cty.NilVal, steps.APIError(err)
	}
	if err := rollingUpdate(live); err != nil {
		return cty.NilVal, err
	}
	prev := partitionOf(live)
	update, _, _ := unstructured.NestedString(live.Object, "status", "updateRevision")
	rec := partitionRecord{Ref: r, Partition: prev, Want: pc.Partition, Update: update}
	if pc.Partition < prev {
		pods, err := workloadPods(ctx, c, live)
		if err != nil {
			return cty.NilVal, err
		}
		rec.Pods = map[string]string{}
		start := ordinalStart(live)
		for _, p := range pods {
			if o := ordinalOf(r.Name, p.Name); o >= start+pc.Partition && o < start+prev {
				rec.Pods[p.Name] = revisionOf(&p)
			}
		}
	}
	if !env.DryRun {
		if err := steps.RecordBefore(env, rec); err != nil {
			return cty.NilVal, err
		}
	}
	out, err := setPartition(ctx, c, r, pc.Partition, live.GetResourceVersion(), env.DryRun)
	if err != nil {
		return cty.NilVal, err
	}
	if !env.DryRun {
		env.Remember(kube.Written{Wrote: r, UID: string(out.GetUID()), Digest: kube.Digest(pc.Partition)})
	}
	env.Report(fmt.Sprintf("%s: partition %d → %d (update revision %s)", r.Short(), prev, pc.Partition, update))
	if pc.Wait && !env.DryRun {
		if out, err = c.WaitRolloutFrom(ctx, r, out, env.Report); err != nil {
			return cty.NilVal, steps.APIError(err)
		}
	}
	updated, _, _ := unstructured.NestedInt64(out.Object, "status", "updatedReplicas")
	return cty.ObjectVal(map[string]cty.Value{
		"previous": cty.NumberIntVal(prev), "partition": cty.NumberIntVal(pc.Partition),
		"revision": cty.StringVal(update), "updated": cty.NumberIntVal(updated),
	}), nil
}

// rehearsePartition is a dry run's partition of a StatefulSet the stages
// before it leave (steps.Env.Rehearse): from their partition; its update
// revision and pods are the controller's, once the writes are real. done
// is false for one they do not write: the dry run of the live one's
// follows.
func rehearsePartition(ctx context.Context, env *steps.Env, c *kube.Clients, r kube.Ref, want int64) (v cty.Value, done bool, err error) {
	sts, err := env.StartingPlanned(ctx, c, r)
	if sts == nil {
		return cty.NilVal, err != nil, err
	}
	if err := rollingUpdate(sts); err != nil {
		return cty.NilVal, true, err
	}
	prev := partitionOf(sts)
	if err := unstructured.SetNestedField(sts.Object, want, "spec", "updateStrategy", "rollingUpdate", "partition"); err != nil {
		return cty.NilVal, true, err
	}
	if _, err := env.Rehearse(ctx, c, r, sts); err != nil {
		return cty.NilVal, true, err
	}
	env.Report(fmt.Sprintf("%s: partition %d → %d (dry run; the pods it updates are not rehearsed)", r.Short(), prev, want))
	return cty.ObjectVal(map[string]cty.Value{
		"previous": cty.NumberIntVal(prev), "partition": cty.NumberIntVal(want),
		"revision": cty.StringVal(""), "updated": cty.NumberIntVal(0),
	}), true, nil
}

// rollingUpdate refuses a StatefulSet whose pods a partition does not
// steer (OnDelete updates a pod only when it is deleted).
func rollingUpdate(sts *unstructured.Unstructured) error {
	if t, _, _ := unstructured.NestedString(sts.Object, "spec", "updateStrategy", "type"); t != "" && t != "RollingUpdate" {
		return fmt.Errorf("statefulset/%s uses updateStrategy %s: a partition steers only RollingUpdate", sts.GetName(), t)
	}
	return nil
}

func partitionOf(sts *unstructured.Unstructured) int64 {
	p, _, _ := unstructured.NestedInt64(sts.Object, "spec", "updateStrategy", "rollingUpdate", "partition")
	return p
}

// ordinalStart is spec.ordinals.start: the first pod's ordinal.
func ordinalStart(sts *unstructured.Unstructured) int64 {
	s, _, _ := unstructured.NestedInt64(sts.Object, "spec", "ordinals", "start")
	return s
}

// setPartition patches the partition; with rv, only if the StatefulSet is
// still at that resourceVersion.
func setPartition(ctx context.Context, c *kube.Clients, r kube.Ref, n int64, rv string, dryRun bool) (*unstructured.Unstructured, error) {
	out, err := mergePatch(ctx, c, r, map[string]any{"spec": map[string]any{"updateStrategy": map[string]any{
		"type": "RollingUpdate", "rollingUpdate": map[string]any{"partition": n}}}}, rv, dryRun)
	if err != nil {
		return nil, steps.APIError(fmt.Errorf("setting the partition of %s to %d: %w", r, n, err))
	}
	return out, nil
}

// Undo puts the partition back as it was before the first attempt, then
// deletes the pods the step updated (those below the restored partition
// still at the revision the step rolled out), highest ordinal first and one
// at a time, each re-created by the controller at the current revision
// before the next goes. A partition changed since this run set it, or a
// pod someone else changed, is left as is and named in a
// *steps.DriftError. Records must name the StatefulSet the stage targets.
func (partitionKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	if len(records) == 0 {
		return nil
	}
	c, err := env.Clients("partition undo")
	if err != nil {
		return err
	}
	order, byRef, err := steps.GroupRecords(records, func(r partitionRecord) kube.Ref { return r.Ref }, nil, "partition undo record %d: %w")
	if err != nil {
		return err
	}
	pc := newPartitionConfig()
	known := env.Configured(&pc, "statefulset", "namespace")
	target, err := workloadTarget(env, c, "StatefulSet", pc.StatefulSet, pc.Namespace, known)
	if err != nil {
		return err
	}
	var errs []error
	var drift []string
	for _, r := range order {
		if err := target(r); err != nil {
			errs = append(errs, err)
			continue
		}
		u := byRef[r]
		why, err := undoPartition(ctx, env, c, r, u.First, u.Last, u.Written)
		if err != nil {
			errs = append(errs, err)
		}
		drift = append(drift, why...)
	}
	return steps.JoinUndo(errs, drift)
}

// undoPartition restores one StatefulSet; drift names what it left as is.
func undoPartition(ctx context.Context, env *steps.Env, c *kube.Clients, r kube.Ref, first, last partitionRecord, w *kube.Written) (drift []string, err error) {
	leave := func(why string) []string {
		msg := r.String() + ": " + why + "; left as is"
		env.Report(msg)
		return []string{msg}
	}
	var live *unstructured.Unstructured
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		drift = nil
		obj, err := c.Get(ctx, r)
		if err != nil {
			return steps.APIError(err)
		}
		if obj == nil {
			drift = leave("deleted since this run set its partition")
			return nil
		}
		live = obj
		cur := partitionOf(obj)
		if cur == first.Partition {
			return nil
		}
		if !env.Force {
			switch {
			case w != nil && w.UID != "" && string(obj.GetUID()) != w.UID:
				drift = leave("deleted and re-created since this run set its partition")
			case w != nil && kube.Digest(cur) != w.Digest, w == nil && cur != last.Want:
				drift = leave(fmt.Sprintf("partition changed since this run set it to %d (now %d)", last.Want, cur))
			}
			if drift != nil {
				return nil
			}
		}
		out, err := setPartition(ctx, c, r, first.Partition, obj.GetResourceVersion(), false)
		if err != nil {
			return err
		}
		live = out
		env.Report(fmt.Sprintf("%s: partition back to %d", r.Short(), first.Partition))
		return nil
	})
	if err != nil || drift != nil {
		return drift, err
	}
	drift, err = rollBackPods(ctx, env, c, r, live, first)
	if err != nil {
		return drift, err
	}
	// The status read before the pods were replaced still counts them at
	// the revision this step rolled out: a wait from it would be done at
	// once and say so.
	if obj, err := c.Get(ctx, r); err == nil && obj != nil {
		live = obj
	}
	if _, err := c.WaitRolloutFrom(ctx, r, live, env.Report); err != nil {
		return drift, steps.APIError(err)
	}
	return drift, nil
}

// rollBackPods deletes, one at a time from the highest ordinal, the pods
// the step updated that are still at the revision it rolled out, and waits
// for each to come back at the revision it had. Once the rollout has
// become the current revision, only restoring the template brings the old
// one back, so nothing is deleted; a pod whose revision the controller
// would not restore otherwise is left as is and named.
func rollBackPods(ctx context.Context, env *steps.Env, c *kube.Clients, r kube.Ref, sts *unstructured.Unstructured, rec partitionRecord) ([]string, error) {
	if len(rec.Pods) == 0 {
		return nil, nil
	}
	// The controller re-creates a pod below the partition from the
	// current revision: wait until it has seen the restored partition.
	sts, err := c.WaitFrom(ctx, r, sts, kube.Observed, env.Report)
	if err != nil {
		return nil, steps.APIError(err)
	}
	current, _, _ := unstructured.NestedString(sts.Object, "status", "currentRevision")
	pods, err := workloadPods(ctx, c, sts)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return int(ordinalOf(r.Name, b.Name) - ordinalOf(r.Name, a.Name)) })
	sel, err := selectorOf(sts)
	if err != nil {
		return nil, err
	}
	var drift []string
	for i := range pods {
		p := &pods[i]
		was, ours := rec.Pods[p.Name]
		if !ours || revisionOf(p) == was || revisionOf(p) != rec.Update {
			continue // not updated by this step, or not since
		}
		if was != current && current == rec.Update {
			// The rollout went through to the end, and the revision it
			// rolled out became the current one: a re-created pod would
			// get it again. Restoring the template (the undo of the
			// deploy that applied it) rolls the pods back.
			env.Report(fmt.Sprintf("%s: pod %s stays at %s, now the current revision, until the template is restored", r.Short(), p.Name, current))
			continue
		}
		if was != current {
			msg := fmt.Sprintf("%s: pod %s ran revision %s before this run, and the controller would re-create it at %s; left as is", r.String(), p.Name, was, current)
			env.Report(msg)
			drift = append(drift, msg)
			continue
		}
		env.Report(fmt.Sprintf("%s: replacing pod %s (revision %s) to bring back %s", r.Short(), p.Name, revisionOf(p), was))
		if err := deletePod(ctx, c, p); err != nil {
			return drift, err
		}
		name, old := p.Name, p.UID
		err := waitPods(ctx, c, r.Namespace, sel, func(seen map[types.UID]*corev1.Pod) (bool, string) {
			for _, q := range seen {
				if q.Name == name && q.UID != old && q.DeletionTimestamp == nil {
					if revisionOf(q) == was && serving(q) {
						return true, fmt.Sprintf("%s: pod %s ready at %s", r.Short(), name, was)
					}
					return false, fmt.Sprintf("%s: pod %s re-created at %s, waiting for it to be ready", r.Short(), name, revisionOf(q))
				}
			}
			return false, fmt.Sprintf("%s: waiting for pod %s to be re-created", r.Short(), name)
		}, env.Report)
		if err != nil {
			return drift, err
		}
	}
	return drift, nil
}

// Plan says what the partition would become and which pods would update.
// It moves from the partition the stages before it leave (the deploy that
// applies the template with the partition at the replicas), as the run
// does; when their changes are not known, from a value known after them.
func (partitionKind) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	pc := newPartitionConfig()
	if _, err := steps.Decode(cfg, &pc); err != nil {
		return "", err
	}
	c, err := env.Clients("partition")
	if err != nil {
		return "", err
	}
	r, err := ref(c, "StatefulSet", env.NamespaceFor(pc.Namespace, c), pc.StatefulSet)
	if err != nil {
		return "", err
	}
	live, err := c.Get(ctx, r)
	if err != nil {
		return "", steps.APIError(err)
	}
	if live != nil {
		// Against the live object: the permissions and admission of the
		// write, whatever the partition it starts from.
		if _, err := setPartition(ctx, c, r, pc.Partition, "", true); err != nil {
			return "", err
		}
	}
	if unknown := env.Planned.Unknown(); len(unknown) > 0 {
		return fmt.Sprintf("~ partition %s: (known after %s) → %d", r, strings.Join(unknown, ", "), pc.Partition), nil
	}
	sts := live
	if o, ok := env.Planned.Object(r); ok {
		sts = o
	}
	if sts == nil {
		return "", fmt.Errorf("partition: %s does not exist", r)
	}
	if err := rollingUpdate(sts); err != nil {
		return "", err
	}
	after := sts.DeepCopy()
	if err := unstructured.SetNestedField(after.Object, pc.Partition, "spec", "updateStrategy", "rollingUpdate", "partition"); err != nil {
		return "", err
	}
	env.Planned.Leave(r, after)
	prev := partitionOf(sts)
	if prev == pc.Partition {
		return fmt.Sprintf("= unchanged %s: partition %d", r, prev), nil
	}
	replicas, found, _ := unstructured.NestedInt64(sts.Object, "spec", "replicas")
	if !found {
		replicas = 1
	}
	start := ordinalStart(sts)
	var pods []string
	for o := start + pc.Partition; o < start+min(prev, replicas); o++ {
		pods = append(pods, fmt.Sprintf("%s-%d", r.Name, o))
	}
	s := fmt.Sprintf("~ partition %s: %d → %d", r, prev, pc.Partition)
	if len(pods) > 0 {
		s += " (updates " + strings.Join(pods, ", ") + ")"
	}
	return s, nil
}

// Permissions of partition: the StatefulSet read, patched and watched; its
// pods listed, and on undo deleted and watched until re-created.
func (partitionKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	return []steps.Permission{
		perm(Resource{Group: "apps", Resource: "statefulsets", Namespaced: true}, "set the partition and wait for the pods; undo sets it back", "get", "patch", "list", "watch"),
		perm(Resource{Resource: "pods", Namespaced: true}, "record the pods' revisions; undo replaces the pods it updated", "list", "watch", "delete"),
	}, nil
}
