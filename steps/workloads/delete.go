package workloads

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(deleteKind{}) }

// deleteKind deletes one object and waits until it is gone.
//
//	delete { kind = "deploy", name = "web-v1" }
//
// Its undo creates the object again from the recorded state, without what
// the server owned (uid, resourceVersion, status …) and without owner
// references to owners that no longer exist (the garbage collector would
// delete it again at once); a re-created Deployment is awaited until rolled
// out. What a cascading delete removed with it (pods, ReplicaSets) is not
// recorded: the object's controller makes it again.
type deleteKind struct{}

func (deleteKind) Name() string { return "delete" }

func (deleteKind) Doc() string {
	return "Deletes one object and waits until it is gone. The object is journaled first: the undo creates it " +
		"again as it was (without what the server owns, such as uid and status) and waits for a re-created " +
		"Deployment to roll out; what a cascading delete removed with it is made again by its controller."
}

func (deleteKind) AttrDocs() map[string]string {
	return withNamed(map[string]string{
		"kind":        "The object's kind (`Deployment`, `deploy`, `Service`, any kind the cluster serves).",
		"propagation": "What happens to the objects it owns: `background` (default), `foreground` or `orphan`.",
		"wait":        "Wait until the object is gone (default true).",
	})
}

// deleteConfig is the delete block.
type deleteConfig struct {
	Kind string `hcl:"kind,required"`
	named
	Propagation string `hcl:"propagation"`
	Wait        bool   `hcl:"wait"`
}

func newDeleteConfig() deleteConfig { return deleteConfig{Propagation: "background", Wait: true} }

var deleteSpec = steps.SpecFor[deleteConfig]()

func (deleteKind) Spec() hcldec.Spec { return deleteSpec }

func (deleteKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"previous": cty.DynamicPseudoType})
}

var propagations = map[string]metav1.DeletionPropagation{
	"background": metav1.DeletePropagationBackground,
	"foreground": metav1.DeletePropagationForeground,
	"orphan":     metav1.DeletePropagationOrphan,
}

func (deleteKind) Check(cfg cty.Value) []steps.Problem {
	dc := newDeleteConfig()
	u, err := steps.Decode(cfg, &dc)
	out := steps.ProblemsOf(err)
	if _, ok := propagations[dc.Propagation]; !ok && !u.Has("propagation") {
		out = append(out, steps.Problem{Path: []string{"propagation"}, Summary: "Invalid propagation",
			Detail: fmt.Sprintf("propagation must be \"background\", \"foreground\" or \"orphan\", not %q", dc.Propagation)})
	}
	return out
}

func (deleteKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	dc := newDeleteConfig()
	if _, err := steps.Decode(cfg, &dc); err != nil {
		return cty.NilVal, err
	}
	prop := dc.Propagation
	policy, ok := propagations[prop]
	if !ok {
		return cty.NilVal, fmt.Errorf("propagation must be \"background\", \"foreground\" or \"orphan\", not %q", prop)
	}
	c, err := env.Clients("delete")
	if err != nil {
		return cty.NilVal, err
	}
	r, err := ref(c, dc.Kind, env.NamespaceFor(dc.Namespace, c), dc.Name)
	if err != nil {
		return cty.NilVal, err
	}
	none := cty.ObjectVal(map[string]cty.Value{"previous": cty.NullVal(cty.DynamicPseudoType)})
	snap, live, err := c.Capture(ctx, r)
	if err != nil {
		return cty.NilVal, steps.APIError(err)
	}
	if live == nil {
		// On a retry the first attempt may have deleted it already; its
		// record is journaled. On a first attempt a missing object is most
		// likely a wrong name.
		if env.Attempt > 1 {
			env.Report(r.String() + " is already gone")
			return none, nil
		}
		return cty.NilVal, fmt.Errorf("delete: %s does not exist", r)
	}
	if !env.DryRun {
		if err := steps.RecordBefore(env, snap); err != nil {
			return cty.NilVal, err
		}
	}
	uid := live.GetUID()
	opts := metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid}}
	if env.DryRun {
		opts.DryRun = kube.DryRunAll
	}
	err = c.Resource(r).Delete(ctx, r.Name, opts)
	if err != nil && !apierrors.IsNotFound(err) {
		return cty.NilVal, steps.APIError(fmt.Errorf("deleting %s: %w", r, err))
	}
	env.Report(fmt.Sprintf("deleting %s (%s propagation)", r, prop))
	if dc.Wait && !env.DryRun {
		// Gone, or replaced by a new object of the same name (a controller
		// re-creating what it owns): either way the deleted one is gone.
		_, err := c.WaitFor(ctx, r, func(obj *unstructured.Unstructured) (bool, string, error) {
			if obj == nil || obj.GetUID() != uid {
				return true, r.Short() + ": deleted", nil
			}
			msg := r.Short() + ": waiting for deletion to finish"
			if f := obj.GetFinalizers(); len(f) > 0 {
				msg = fmt.Sprintf("%s: waiting for finalizers %v", r.Short(), f)
			}
			return false, msg, nil
		}, env.Report)
		if err != nil {
			return cty.NilVal, steps.APIError(err)
		}
	}
	return cty.ObjectVal(map[string]cty.Value{"previous": objectVal(kube.Clean(live))}), nil
}

// Undo re-creates the object (or puts its recorded state back if the delete
// never took effect) and waits for a re-created workload to roll out. An
// object of the same name created by someone else since is left alone.
// Records must name the object the stage deletes; when its kind, name or
// namespace cannot be evaluated, nothing is re-created (a deleted object
// carries no mark to vouch for the record).
func (deleteKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	if len(records) == 0 {
		return nil
	}
	c, err := env.Clients("delete undo")
	if err != nil {
		return err
	}
	p, err := namedTarget(env, c, "", false)
	if err != nil {
		return err
	}
	p.Deleted = true
	return steps.RestoreObjects(ctx, env, c, records, p)
}
