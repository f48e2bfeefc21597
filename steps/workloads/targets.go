package workloads

import (
	"strings"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// The trust boundary of an undo (docs/design.md, "Trust boundary"): the
// journal is run state, which more people can edit than can change the
// pipeline or the cluster. An undo therefore writes only to objects its
// stage targets, as the step block evaluated at undo time (env.Config)
// names them; a record naming any other object is refused with a
// *steps.TargetError and nothing is written for it.

// namedTarget is the policy of the one-object kinds (patch, delete, scale):
// records must name the object the configured kind, name and namespace
// resolve to. When those cannot be evaluated, marked says whether the
// run's mark on the live object may stand in for them (the kind writes it);
// otherwise every record is refused.
func namedTarget(env *steps.Env, c *kube.Clients, defKind string, marked bool) (steps.UndoPolicy, error) {
	t := struct {
		Kind string `hcl:"kind"`
		named
	}{Kind: defKind}
	if !env.Configured(&t, "kind", "name", "namespace") {
		if marked {
			return steps.MarkedTarget(c), nil
		}
		return steps.UndoPolicy{Target: steps.RefuseAll("the stage's kind, name or namespace cannot be evaluated, so the record cannot be checked against it")}, nil
	}
	want, err := ref(c, t.Kind, env.NamespaceFor(t.Namespace, c), t.Name)
	if err != nil {
		return steps.UndoPolicy{}, err
	}
	return steps.UndoPolicy{Target: steps.TargetIs(c, want)}, nil
}

// workloadTarget is the check of records against the one workload of kind
// a stage names (partition, update_nodes); known says whether its name and
// namespace could be evaluated, else every record is refused.
func workloadTarget(env *steps.Env, c *kube.Clients, kind, name, ns string, known bool) (func(kube.Ref) error, error) {
	if !known {
		return steps.RefuseAll("the stage's " + strings.ToLower(kind) + " or namespace cannot be evaluated, so the record cannot be checked against it"), nil
	}
	want, err := ref(c, kind, env.NamespaceFor(ns, c), name)
	if err != nil {
		return nil, err
	}
	return steps.TargetIs(c, want), nil
}
