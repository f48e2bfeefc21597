package workloads

import (
	"context"
	"fmt"
	"math/big"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(rollbackKind{}) }

// rollbackKind is `kubectl rollout undo` for a Deployment: the pod template
// of an earlier revision (the previous one, or to_revision) becomes the
// current one, and the rollout is awaited. It has no built-in undo: undoing
// a rollback is not a defined operation (use an explicit undo block).
//
//	rollback { name = "web", to_revision = 3 }
type rollbackKind struct{}

func (rollbackKind) Name() string { return "rollback" }

func (rollbackKind) Doc() string {
	return "Rolls a Deployment back as `kubectl rollout undo` does: the pod template of an earlier revision (the " +
		"previous one, or `to_revision`) becomes the current one, and the rollout is awaited. It has no built-in " +
		"undo (undoing a rollback is not defined): give the stage an `undo {}` block if it needs one."
}

func (rollbackKind) AttrDocs() map[string]string {
	return withNamed(map[string]string{
		"name":        "The Deployment's name.",
		"to_revision": "The revision to go back to (`kubectl rollout history` lists them; default: the previous one).",
		"wait":        "Wait for the rollout (default true).",
	})
}

// rollbackConfig is the rollback block; to_revision 0 is the previous one.
type rollbackConfig struct {
	named
	ToRevision cty.Value `hcl:"to_revision,type=number"`
	Wait       bool      `hcl:"wait"`
}

var rollbackSpec = steps.SpecFor[rollbackConfig]()

func (rollbackKind) Spec() hcldec.Spec { return rollbackSpec }

// revision is to_revision as a whole number ≥ 0 (0 when null), or false.
func (c rollbackConfig) revision() (int64, bool) {
	v := c.ToRevision
	if v.IsNull() || !v.IsKnown() {
		return 0, true
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	return n, bf.IsInt() && acc == big.Exact && n >= 0
}

func (rollbackKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"revision": cty.String})
}

func (rollbackKind) Check(cfg cty.Value) []steps.Problem {
	var rc rollbackConfig
	_, err := steps.Decode(cfg, &rc)
	out := steps.ProblemsOf(err)
	if _, ok := rc.revision(); !ok {
		out = append(out, steps.Problem{Path: []string{"to_revision"}, Summary: "Invalid revision",
			Detail: "to_revision must be a whole revision number (see `kubectl rollout history`), or 0 for the previous one."})
	}
	return out
}

func (rollbackKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	rc := rollbackConfig{Wait: true}
	if _, err := steps.Decode(cfg, &rc); err != nil {
		return cty.NilVal, err
	}
	to, ok := rc.revision()
	if !ok {
		return cty.NilVal, fmt.Errorf("to_revision must be a whole revision number, or 0 for the previous one")
	}
	c, err := env.Clients("rollback")
	if err != nil {
		return cty.NilVal, err
	}
	ns := env.NamespaceFor(rc.Namespace, c)
	name := rc.Name
	r := kube.Ref{APIVersion: "apps/v1", Kind: "Deployment", Resource: "deployments", Namespace: ns, Name: name}
	var d *appsv1.Deployment
	var skipped bool
	// The deployment controller writes status while the previous rollout
	// settles (terminating replicas, conditions): re-read and recompute on
	// a conflict rather than fail the stage.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		d, err = c.Typed.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("rollback: %s does not exist", r)
		}
		if err != nil {
			return steps.APIError(fmt.Errorf("rollback: reading %s: %w", r, err))
		}
		if skipped, err = rollbackTo(ctx, c.Typed, d, to, env.DryRun); err != nil {
			return steps.APIError(fmt.Errorf("rollback of %s: %w", r, err))
		}
		return nil
	})
	if err != nil {
		return cty.NilVal, err
	}
	target := "the previous revision"
	if to > 0 {
		target = fmt.Sprintf("revision %d", to)
	}
	if skipped {
		env.Report(fmt.Sprintf("%s: already at %s; nothing to roll back", r.Short(), target))
	} else {
		env.Report(fmt.Sprintf("%s: rolling back to %s", r.Short(), target))
	}
	if env.DryRun {
		return cty.ObjectVal(map[string]cty.Value{"revision": cty.StringVal(d.Annotations[revisionAnnotation])}), nil
	}
	var obj *unstructured.Unstructured
	if rc.Wait {
		obj, err = c.WaitRollout(ctx, r, env.Report)
	} else {
		// The controller gives the restored template a new revision number
		// as soon as it observes the change: wait for that much only.
		obj, err = c.WaitFor(ctx, r, kube.Observed, nil)
	}
	if err != nil {
		return cty.NilVal, steps.APIError(err)
	}
	return cty.ObjectVal(map[string]cty.Value{"revision": cty.StringVal(obj.GetAnnotations()[revisionAnnotation])}), nil
}
