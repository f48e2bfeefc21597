package workloads

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(scaleKind{}) }

// scaleKind sets the replicas of a Deployment, StatefulSet or ReplicaSet
// through its scale subresource (what `kubectl scale` and autoscalers use, so
// it needs only the scale permission) and waits for them.
//
//	scale { name = "web-v1", replicas = 0 }
type scaleKind struct{}

func (scaleKind) Name() string { return "scale" }

func (scaleKind) Doc() string {
	return "Sets the replicas of a Deployment, StatefulSet or ReplicaSet through its scale subresource (as " +
		"`kubectl scale` and autoscalers do) and waits until they are ready. The undo restores the previous count; " +
		"since it may take capacity away it runs after the other compensations."
}

func (scaleKind) AttrDocs() map[string]string {
	return withNamed(map[string]string{
		"kind":     "`Deployment` (default), `StatefulSet` or `ReplicaSet`.",
		"replicas": "The number of replicas to set (0 stops every pod).",
		"wait":     "Wait until that many replicas are ready (default true).",
	})
}

// scaleConfig is the scale block.
type scaleConfig struct {
	Kind string `hcl:"kind"`
	named
	Replicas int64 `hcl:"replicas,required"`
	Wait     bool  `hcl:"wait"`
}

func newScaleConfig() scaleConfig { return scaleConfig{Kind: "Deployment", Wait: true} }

var scaleSpec = steps.SpecFor[scaleConfig]()

func (scaleKind) Spec() hcldec.Spec { return scaleSpec }

func (scaleKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"previous": cty.Number, "replicas": cty.Number})
}

func (scaleKind) Check(cfg cty.Value) []steps.Problem {
	sc := newScaleConfig()
	u, err := steps.Decode(cfg, &sc)
	if ps := steps.ProblemsOf(err); ps != nil || u.Has("replicas") {
		return ps
	}
	if sc.Replicas < 0 {
		return []steps.Problem{{Path: []string{"replicas"}, Summary: "Invalid replicas",
			Detail: fmt.Sprintf("replicas must be a whole number, zero or more; got %d", sc.Replicas)}}
	}
	return nil
}

// scaleRecord is the replica count before a scale, for the undo, and the
// count the scale is about to set (Want), which tells an undo that lost the
// note written after the scale whether someone changed the count since.
type scaleRecord struct {
	Ref      kube.Ref `json:"ref"`
	Replicas int64    `json:"replicas"`
	Want     *int64   `json:"want,omitempty"`
}

func (scaleKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	sc := newScaleConfig()
	if _, err := steps.Decode(cfg, &sc); err != nil {
		return cty.NilVal, err
	}
	c, err := env.Clients("scale")
	if err != nil {
		return cty.NilVal, err
	}
	kind := sc.Kind
	r, err := ref(c, kind, env.NamespaceFor(sc.Namespace, c), sc.Name)
	if err != nil {
		return cty.NilVal, err
	}
	switch r.Kind {
	case "Deployment", "StatefulSet", "ReplicaSet":
	default:
		return cty.NilVal, fmt.Errorf("scale works on a Deployment, StatefulSet or ReplicaSet; %q is a %s", kind, r.Kind)
	}
	want := sc.Replicas
	if env.DryRun {
		if v, done, err := rehearseScale(ctx, env, c, r, want); done {
			return v, err
		}
	}
	prev, read, err := readScale(ctx, c, r)
	if err != nil {
		return cty.NilVal, err
	}
	if !env.DryRun {
		if err := steps.RecordBefore(env, scaleRecord{Ref: r, Replicas: prev, Want: &want}); err != nil {
			return cty.NilVal, err
		}
	}
	out, err := setScale(ctx, c, r, want, "", env.DryRun)
	if err != nil {
		return cty.NilVal, err
	}
	if !env.DryRun {
		n, _, _ := unstructured.NestedInt64(out.Object, "spec", "replicas")
		env.Remember(kube.Written{Wrote: r, UID: string(out.GetUID()), Digest: kube.Digest(n)})
	}
	env.Report(fmt.Sprintf("%s: scaled from %d to %d replicas", r.Short(), prev, want))
	if sc.Wait && !env.DryRun {
		// The scale subresource answers with a Scale, not the workload's
		// status: the wait watches the workload from the read before the
		// patch and judges its states from the patch's on, with no list.
		if _, err := waitScaled(ctx, c, r, read, out.GetResourceVersion(), want, want > prev, env.Report); err != nil {
			return cty.NilVal, steps.APIError(err)
		}
	}
	return cty.ObjectVal(map[string]cty.Value{"previous": cty.NumberIntVal(prev), "replicas": cty.NumberIntVal(want)}), nil
}

// rehearseScale is a dry run's scale of a workload the stages before it
// leave (steps.Env.Rehearse): from their count, without the scale
// subresource, which a workload that exists only in the rehearsal does not
// have. done is false for a workload they do not write: the dry run of the
// live one's scale follows.
func rehearseScale(ctx context.Context, env *steps.Env, c *kube.Clients, r kube.Ref, want int64) (v cty.Value, done bool, err error) {
	obj, err := env.StartingPlanned(ctx, c, r)
	if obj == nil {
		return cty.NilVal, err != nil, err
	}
	prev := replicasOf(obj)
	if err := unstructured.SetNestedField(obj.Object, want, "spec", "replicas"); err != nil {
		return cty.NilVal, true, err
	}
	if _, err := env.Rehearse(ctx, c, r, obj); err != nil {
		return cty.NilVal, true, err
	}
	env.Report(fmt.Sprintf("%s: scaled from %d to %d replicas (dry run; its pods are not rehearsed)", r.Short(), prev, want))
	return cty.ObjectVal(map[string]cty.Value{"previous": cty.NumberIntVal(prev), "replicas": cty.NumberIntVal(want)}), true, nil
}

// Undo puts back the replica count from before the first attempt and waits
// for it, unless the count changed since this run set it (an autoscaler, a
// person): that one is left as is and named in a *steps.DriftError. Records
// must name the workload the stage scales; the scale subresource carries no
// annotation, so when the stage's kind, name or namespace cannot be
// evaluated every record is refused.
func (scaleKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	if len(records) == 0 {
		return nil
	}
	c, err := env.Clients("scale undo")
	if err != nil {
		return err
	}
	order, byRef, err := steps.GroupRecords(records, func(r scaleRecord) kube.Ref { return r.Ref }, nil, "scale undo record %d: %w")
	if err != nil {
		return err
	}
	p, err := namedTarget(env, c, "Deployment", false)
	if err != nil {
		return err
	}
	var ue steps.UndoErrors
	for _, r := range order {
		if err := p.Target(r); err != nil {
			ue.Add(err)
			continue
		}
		s := byRef[r]
		want := s.First.Replicas
		why, read, wrote, err := restoreScale(ctx, env, c, r, want, s.Last.Want, s.Written)
		if err != nil {
			ue.Add(err)
			continue
		}
		if why != "" {
			ue.Left(env, r.String(), why)
			continue
		}
		grows := s.Last.Want == nil || want > *s.Last.Want
		if _, err := waitScaled(ctx, c, r, read, wrote, want, grows, env.Report); err != nil {
			ue.Add(err)
		}
	}
	return ue.Err()
}

// restoreScale sets the count back to want, unless it changed since the
// run set it (returned as why, with nothing written). The write carries the
// resourceVersion of the read it was decided on, so a change in between is
// a conflict, and the read and the checks are done again. read and wrote
// are the resourceVersions of the last read and of the write (equal when
// nothing was written), for the wait that follows (kube.WaitAfterWrite).
func restoreScale(ctx context.Context, env *steps.Env, c *kube.Clients, r kube.Ref, want int64, set *int64, w *kube.Written) (why, read, wrote string, err error) {
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		why, read, wrote = "", "", ""
		s, err := c.Resource(r).Get(ctx, r.Name, metav1.GetOptions{}, "scale")
		if err != nil {
			return steps.APIError(fmt.Errorf("reading the scale of %s: %w", r, err))
		}
		read, wrote = s.GetResourceVersion(), s.GetResourceVersion()
		cur, _, _ := unstructured.NestedInt64(s.Object, "spec", "replicas")
		if cur == want {
			// Still at the recorded count (the scale was refused, or
			// undone before): no write, so the undo needs no right the
			// stage lacked.
			env.Report(fmt.Sprintf("%s: already at %d replicas", r.Short(), want))
			return nil
		}
		if !env.Force {
			switch {
			case w != nil && w.UID != "" && string(s.GetUID()) != w.UID:
				why = "deleted and re-created since this run scaled it"
			case w != nil && kube.Digest(cur) != w.Digest:
				why = fmt.Sprintf("replicas changed since this run set them (now %d; an autoscaler?)", cur)
			case w == nil && set != nil && cur != *set:
				why = fmt.Sprintf("replicas changed since this run set them to %d (now %d; an autoscaler?)", *set, cur)
			}
			if why != "" {
				return nil
			}
		}
		out, err := setScale(ctx, c, r, want, s.GetResourceVersion(), false)
		if err != nil {
			return err
		}
		wrote = out.GetResourceVersion()
		env.Report(fmt.Sprintf("%s: replicas back to %d", r.Short(), want))
		return nil
	})
	return why, read, wrote, err
}

func currentScale(ctx context.Context, c *kube.Clients, r kube.Ref) (int64, error) {
	n, _, err := readScale(ctx, c, r)
	return n, err
}

// readScale returns the replica count and the resourceVersion it was read
// at (the workload's: a scale subresource carries its parent's).
func readScale(ctx context.Context, c *kube.Clients, r kube.Ref) (int64, string, error) {
	s, err := c.Resource(r).Get(ctx, r.Name, metav1.GetOptions{}, "scale")
	if err != nil {
		return 0, "", steps.APIError(fmt.Errorf("reading the scale of %s: %w", r, err))
	}
	n, _, _ := unstructured.NestedInt64(s.Object, "spec", "replicas")
	return n, s.GetResourceVersion(), nil
}

// setScale patches the scale subresource to n replicas; with rv, only if
// the object is still at that resourceVersion.
func setScale(ctx context.Context, c *kube.Clients, r kube.Ref, n int64, rv string, dryRun bool) (*unstructured.Unstructured, error) {
	out, err := mergePatch(ctx, c, r, map[string]any{"spec": map[string]any{"replicas": n}}, rv, dryRun, "scale")
	if err != nil {
		return nil, steps.APIError(fmt.Errorf("scaling %s to %d replicas: %w", r, n, err))
	}
	return out, nil
}

// scaledTo is done when the controller has observed the new count, runs
// exactly n pods (scaled-down ones have terminated) and all n are ready.
// waitScaled waits for the workload's replicas to follow a scale to n
// (kube.WaitAfterWrite). A scale up also follows the workload's pods, to
// name one that does not get ready (kube.Stuck: Pending, crash-looping):
// new pods are what can be stuck, and a scale down would only name the
// ones it deletes.
func waitScaled(ctx context.Context, c *kube.Clients, r kube.Ref, read, wrote string, n int64, grows bool, report func(string)) (*unstructured.Unstructured, error) {
	if grows {
		return c.WaitPodsAfterWrite(ctx, r, read, wrote, scaledTo(r, n), report)
	}
	return c.WaitAfterWrite(ctx, r, read, wrote, scaledTo(r, n), report)
}

func scaledTo(r kube.Ref, n int64) kube.Condition {
	return func(obj *unstructured.Unstructured) (bool, string, error) {
		if obj == nil {
			return false, "", fmt.Errorf("%s was deleted while waiting for %d replicas", r, n)
		}
		get := func(f string) int64 {
			v, _, _ := unstructured.NestedInt64(obj.Object, "status", f)
			return v
		}
		switch {
		case get("observedGeneration") < obj.GetGeneration():
			return false, r.Short() + ": waiting for the controller to observe the new replica count", nil
		case get("replicas") > n || get("terminatingReplicas") > 0:
			return false, fmt.Sprintf("%s: %s running, %d wanted; waiting for the others to terminate", r.Short(), words.Count(int(get("replicas")), "pod"), n), nil
		case get("readyReplicas") < n || get("replicas") < n:
			return false, fmt.Sprintf("%s: %d of %d replicas ready", r.Short(), get("readyReplicas"), n), nil
		}
		return true, fmt.Sprintf("%s: %d of %d replicas ready", r.Short(), get("readyReplicas"), n), nil
	}
}
