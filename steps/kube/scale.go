package kube

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	k8s "github.com/cutoverhq/cutover/kube"
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

func (scaleKind) Spec() hcldec.Spec {
	return &hcldec.ObjectSpec{
		"kind":      &hcldec.AttrSpec{Name: "kind", Type: cty.String},
		"name":      &hcldec.AttrSpec{Name: "name", Type: cty.String, Required: true},
		"replicas":  &hcldec.AttrSpec{Name: "replicas", Type: cty.Number, Required: true},
		"namespace": &hcldec.AttrSpec{Name: "namespace", Type: cty.String},
		"wait":      &hcldec.AttrSpec{Name: "wait", Type: cty.Bool},
	}
}

func (scaleKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"previous": cty.Number, "replicas": cty.Number})
}

func (scaleKind) Check(cfg cty.Value) []steps.Problem {
	r := steps.Attr(cfg, "replicas")
	if r.IsNull() || !r.IsKnown() {
		return nil
	}
	bf := r.AsBigFloat()
	if !bf.IsInt() || bf.Sign() < 0 {
		return []steps.Problem{{Path: []string{"replicas"}, Summary: "Invalid replicas",
			Detail: fmt.Sprintf("replicas must be a whole number, zero or more; got %s", bf.Text('g', -1))}}
	}
	return nil
}

// scaleRecord is the replica count before a scale, for the undo.
type scaleRecord struct {
	Ref      k8s.Ref `json:"ref"`
	Replicas int64   `json:"replicas"`
}

func (scaleKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	c, err := clients(env, "scale")
	if err != nil {
		return cty.NilVal, err
	}
	kind := steps.Str(cfg, "kind")
	if kind == "" {
		kind = "Deployment"
	}
	r, err := ref(c, kind, namespace(env, cfg, c), steps.Str(cfg, "name"))
	if err != nil {
		return cty.NilVal, err
	}
	switch r.Kind {
	case "Deployment", "StatefulSet", "ReplicaSet":
	default:
		return cty.NilVal, fmt.Errorf("scale works on a Deployment, StatefulSet or ReplicaSet; %q is a %s", kind, r.Kind)
	}
	want := steps.Int(cfg, "replicas", 0)
	prev, err := currentScale(ctx, c, r)
	if err != nil {
		return cty.NilVal, err
	}
	if !env.DryRun {
		if err := record(env, scaleRecord{Ref: r, Replicas: prev}); err != nil {
			return cty.NilVal, err
		}
	}
	if err := setScale(ctx, c, r, want, env.DryRun); err != nil {
		return cty.NilVal, err
	}
	env.Report(fmt.Sprintf("%s: scaled from %d to %d replicas", r.Short(), prev, want))
	if steps.Bool(cfg, "wait", true) && !env.DryRun {
		if _, err := c.WaitFor(ctx, r, scaledTo(r, want), env.Report); err != nil {
			return cty.NilVal, classify(err)
		}
	}
	return cty.ObjectVal(map[string]cty.Value{"previous": cty.NumberIntVal(prev), "replicas": cty.NumberIntVal(want)}), nil
}

// Undo puts back the replica count from before the first attempt and waits
// for it.
func (scaleKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	if len(records) == 0 {
		return nil
	}
	c, err := clients(env, "scale undo")
	if err != nil {
		return err
	}
	// The oldest record of each object holds its count before the stage.
	var order []k8s.Ref
	first := map[k8s.Ref]int64{}
	for i, raw := range records {
		var rec scaleRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("scale undo record %d: %w", i+1, err)
		}
		if _, ok := first[rec.Ref]; !ok {
			first[rec.Ref] = rec.Replicas
			order = append(order, rec.Ref)
		}
	}
	var errs []error
	for i := len(order) - 1; i >= 0; i-- {
		r := order[i]
		// Still at the recorded count (the scale was refused, or undone
		// before): no write, so the undo needs no right the stage lacked.
		if cur, err := currentScale(ctx, c, r); err == nil && cur == first[r] {
			env.Report(fmt.Sprintf("%s: already at %d replicas", r.Short(), first[r]))
		} else {
			if err := setScale(ctx, c, r, first[r], false); err != nil {
				errs = append(errs, err)
				continue
			}
			env.Report(fmt.Sprintf("%s: replicas back to %d", r.Short(), first[r]))
		}
		if _, err := c.WaitFor(ctx, r, scaledTo(r, first[r]), env.Report); err != nil {
			errs = append(errs, err)
		}
	}
	return joinClassified(errs)
}

func currentScale(ctx context.Context, c *k8s.Clients, r k8s.Ref) (int64, error) {
	s, err := c.Resource(r).Get(ctx, r.Name, metav1.GetOptions{}, "scale")
	if err != nil {
		return 0, classify(fmt.Errorf("reading the scale of %s: %w", r, err))
	}
	n, _, _ := unstructured.NestedInt64(s.Object, "spec", "replicas")
	return n, nil
}

func setScale(ctx context.Context, c *k8s.Clients, r k8s.Ref, n int64, dryRun bool) error {
	patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n))
	opts := metav1.PatchOptions{FieldManager: k8s.FieldManager}
	if dryRun {
		opts.DryRun = k8s.DryRunAll
	}
	if _, err := c.Resource(r).Patch(ctx, r.Name, types.MergePatchType, patch, opts, "scale"); err != nil {
		return classify(fmt.Errorf("scaling %s to %d replicas: %w", r, n, err))
	}
	return nil
}

// scaledTo is done when the controller has observed the new count, runs
// exactly n pods (scaled-down ones have terminated) and all n are ready.
func scaledTo(r k8s.Ref, n int64) k8s.Condition {
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
			return false, fmt.Sprintf("%s: %d pods running, %d wanted; waiting for the others to terminate", r.Short(), get("replicas"), n), nil
		case get("readyReplicas") < n || get("replicas") < n:
			return false, fmt.Sprintf("%s: %d of %d replicas ready", r.Short(), get("readyReplicas"), n), nil
		}
		return true, fmt.Sprintf("%s: %d of %d replicas ready", r.Short(), get("readyReplicas"), n), nil
	}
}
