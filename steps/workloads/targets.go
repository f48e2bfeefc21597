package workloads

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// The trust boundary of an undo (docs/design.md, "Trust boundary"): the
// journal is run state, which more people can edit than can change the
// pipeline or the cluster. An undo therefore writes only to objects its
// stage targets, as the step block evaluated at undo time (env.Config)
// names them; a record naming any other object is refused with a
// *steps.TargetError and nothing is written for it.

// servedAs refuses a record whose resource is not the one serving its kind.
// Requests go to the resource, so a record saying "ConfigMap" with resource
// "secrets" would otherwise pass a check on the kind and write a Secret.
func servedAs(c *kube.Clients, r kube.Ref) error {
	if c.Mapper == nil {
		return nil // unit tests' fake clients: no discovery to ask
	}
	m, err := kube.MappingFor(c.Mapper, schema.FromAPIVersionAndKind(r.APIVersion, r.Kind))
	if err != nil {
		if kube.IsTransient(err) {
			return steps.APIError(err)
		}
		return &steps.TargetError{Record: r.String(), Why: err.Error()}
	}
	if m.Resource.Resource != r.Resource || kube.Namespaced(m) != (r.Namespace != "") {
		return &steps.TargetError{Record: r.String(), Why: fmt.Sprintf("the record names resource %q, which does not serve %s %s", r.Resource, r.APIVersion, r.Kind)}
	}
	return nil
}

// targetIn is the check of records against the objects a stage targets.
func targetIn(c *kube.Clients, want []kube.Ref) func(kube.Ref) error {
	return func(r kube.Ref) error {
		if err := servedAs(c, r); err != nil {
			return err
		}
		for _, w := range want {
			if kube.SameTarget(r, w) {
				return nil
			}
		}
		names := make([]string, len(want))
		for i, w := range want {
			names[i] = w.String()
		}
		why := "the stage does not target it"
		if len(names) > 0 {
			why += " (it targets " + strings.Join(names, ", ") + ")"
		}
		return &steps.TargetError{Record: r.String(), Why: why}
	}
}

// refuseAll refuses every record, for kinds that cannot check them without
// their configuration.
func refuseAll(why string) func(kube.Ref) error {
	return func(r kube.Ref) error { return &steps.TargetError{Record: r.String(), Why: why} }
}

// namedTarget is the policy of the one-object kinds (patch, delete, scale):
// records must name the object the configured kind, name and namespace
// resolve to. When those cannot be evaluated, marked says whether the
// run's mark on the live object may stand in for them (the kind writes it);
// otherwise every record is refused.
func namedTarget(env *steps.Env, c *kube.Clients, defKind string, marked bool) (undoPolicy, error) {
	t := struct {
		Kind string `hcl:"kind"`
		named
	}{Kind: defKind}
	if !env.Configured(&t, "kind", "name", "namespace") {
		if marked {
			return undoPolicy{requireMark: true, target: func(r kube.Ref) error { return servedAs(c, r) }}, nil
		}
		return undoPolicy{target: refuseAll("the stage's kind, name or namespace cannot be evaluated, so the record cannot be checked against it")}, nil
	}
	want, err := ref(c, t.Kind, env.NamespaceFor(t.Namespace, c), t.Name)
	if err != nil {
		return undoPolicy{}, err
	}
	return undoPolicy{target: targetIn(c, []kube.Ref{want})}, nil
}

// workloadTarget is the check of records against the one workload of kind
// a stage names (partition, update_nodes); known says whether its name and
// namespace could be evaluated, else every record is refused.
func workloadTarget(env *steps.Env, c *kube.Clients, kind, name, ns string, known bool) (func(kube.Ref) error, error) {
	if !known {
		return refuseAll("the stage's " + strings.ToLower(kind) + " or namespace cannot be evaluated, so the record cannot be checked against it"), nil
	}
	want, err := ref(c, kind, env.NamespaceFor(ns, c), name)
	if err != nil {
		return nil, err
	}
	return targetIn(c, []kube.Ref{want}), nil
}
