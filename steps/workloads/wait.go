package workloads

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(waitKind{}) }

// waitKind pauses a stage: for a fixed duration, or until an object reaches a
// state (wait_resource.go).
//
//	wait { duration = "30s" }
//	wait {
//	  resource { kind = "deploy", name = "web" }
//	  condition = "Available"            # or rollout = true, or until = <expr>
//	}
type waitKind struct{}

func (waitKind) Name() string { return "wait" }

// ReadOnly: it only looks.
func (waitKind) ReadOnly() {}

// Binds: `until` is evaluated for every version of the watched object.
func (waitKind) Binds() []string { return []string{"object"} }

func (waitKind) Doc() string {
	return "Waits for a fixed `duration`, or until an object reaches a state: a `resource` block names it, and " +
		"`condition`, `rollout` or `until` says what to wait for (exactly one). The object is watched, so the step " +
		"reacts as soon as the state is reached; bound it with the stage's `timeout`. It changes nothing."
}

func (waitKind) AttrDocs() map[string]string { return waitDocs }

// waitDocs describe waitConfig's attributes in the reference.
var waitDocs = map[string]string{
	"duration":           "Time to wait, with its unit (`\"30s\"`); alone, without a resource block.",
	"condition":          "A status condition of the object that must be True (`\"Available\"`, `\"Ready\"`).",
	"rollout":            "Wait until the workload has rolled out, as `kubectl rollout status` does; a Deployment that makes no progress for its `progressDeadlineSeconds` fails the step, also when its controller does not say so (cutover then applies the deadline itself).",
	"until":              "An expression over `object` (the watched object, as in YAML) evaluated at each change until it is true.",
	"resource":           "The object to watch.",
	"resource.kind":      "The object's kind (`Deployment`, `deploy`, `StatefulSet`, any kind the cluster serves).",
	"resource.name":      namedDocs["name"],
	"resource.namespace": namedDocs["namespace"],
}

// waitConfig is the wait block.
type waitConfig struct {
	Duration  *time.Duration `hcl:"duration"`
	Resource  *waitResource  `hcl:"resource,block"`
	Condition *string        `hcl:"condition"`
	Rollout   *bool          `hcl:"rollout"`
	// until is re-evaluated against each new state of the object; the
	// decoded value (unknown while `object` is) only says it is set.
	Until cty.Value `hcl:"until,type=bool"`
}

// waitResource is the object a resource wait watches.
type waitResource struct {
	Kind string `hcl:"kind,required"`
	named
}

var waitSpec = steps.SpecFor[waitConfig]()

func (waitKind) Spec() hcldec.Spec { return waitSpec }

// Output is the object waited for (null in duration mode).
func (waitKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"object": cty.DynamicPseudoType})
}

func (waitKind) Check(cfg cty.Value) []steps.Problem {
	var c waitConfig
	u, err := steps.Decode(cfg, &c)
	out := steps.ProblemsOf(err)
	// An unknown value is set: only null is not.
	hasDur := c.Duration != nil || u.Has("duration")
	hasRes := c.Resource != nil || u.Has("resource")
	modes := 0
	var set []string
	for _, m := range []struct {
		name string
		set  bool
	}{
		{"condition", c.Condition != nil || u.Has("condition")},
		{"rollout", (c.Rollout != nil && *c.Rollout) || u.Has("rollout")},
		{"until", !c.Until.IsNull()},
	} {
		if m.set {
			modes++
			set = append(set, m.name)
		}
	}
	switch {
	case hasDur && hasRes:
		out = append(out, steps.Problem{Path: []string{"duration"}, Summary: "Two things to wait for",
			Detail: "A wait step takes either duration or a resource block, not both."})
	case !hasDur && !hasRes:
		out = append(out, steps.Problem{Path: []string{"duration"}, Summary: "Nothing to wait for",
			Detail: `A wait step needs duration = "30s", or a resource block with condition, rollout = true or until.`})
	case hasRes && modes != 1:
		detail := `A resource wait needs exactly one of condition = "Available", rollout = true or until = <expression over object>`
		if modes > 1 {
			detail += fmt.Sprintf("; this one sets %v", set)
		}
		out = append(out, steps.Problem{Path: []string{"resource"}, Summary: "What to wait for is ambiguous", Detail: detail + "."})
	case !hasRes && modes > 0:
		out = append(out, steps.Problem{Path: []string{set[0]}, Summary: "No resource to wait for",
			Detail: set[0] + " needs a resource { kind = ..., name = ... } block."})
	}
	if c.Condition != nil {
		if _, _, err := parseCondition(*c.Condition); err != nil {
			out = append(out, steps.Problem{Path: []string{"condition"}, Summary: "Invalid condition", Detail: err.Error()})
		}
	}
	return out
}

func (w waitKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	var c waitConfig
	if _, err := steps.Decode(cfg, &c); err != nil {
		return cty.NilVal, err
	}
	if c.Resource != nil {
		return w.runResource(ctx, env, c)
	}
	var d time.Duration
	if c.Duration != nil {
		d = *c.Duration
	}
	if err := sleep(ctx, env, d); err != nil {
		return cty.NilVal, err
	}
	return cty.ObjectVal(map[string]cty.Value{"object": cty.NullVal(cty.DynamicPseudoType)}), nil
}

// sleep waits d unless ctx ends first. A dry run does not wait: it proves the
// pipeline, not the clock.
func sleep(ctx context.Context, env *steps.Env, d time.Duration) error {
	if env != nil && env.DryRun {
		env.Report(fmt.Sprintf("dry run: not waiting %s", d))
		return nil
	}
	env.Report(fmt.Sprintf("waiting %s", d))
	err := steps.Sleep(ctx, d)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("wait of %s cut short by the stage timeout: %w", d, err)
	}
	return fmt.Errorf("wait of %s interrupted: %w", d, err)
}
