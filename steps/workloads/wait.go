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

func (waitKind) Spec() hcldec.Spec {
	return &hcldec.ObjectSpec{
		"duration": &hcldec.AttrSpec{Name: "duration", Type: cty.String},
		"resource": &hcldec.BlockSpec{TypeName: "resource", Nested: &hcldec.ObjectSpec{
			"kind":      &hcldec.AttrSpec{Name: "kind", Type: cty.String, Required: true},
			"name":      &hcldec.AttrSpec{Name: "name", Type: cty.String, Required: true},
			"namespace": &hcldec.AttrSpec{Name: "namespace", Type: cty.String},
		}},
		"condition": &hcldec.AttrSpec{Name: "condition", Type: cty.String},
		"rollout":   &hcldec.AttrSpec{Name: "rollout", Type: cty.Bool},
		// until is re-evaluated against each new state of the object; the
		// decoded value (unknown while `object` is) only says it is set.
		"until": &hcldec.AttrSpec{Name: "until", Type: cty.Bool},
	}
}

// Output is the object waited for (null in duration mode).
func (waitKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"object": cty.DynamicPseudoType})
}

func (waitKind) Check(cfg cty.Value) []steps.Problem {
	out := steps.CheckDurations(cfg, nil, "duration")
	dur := steps.Attr(cfg, "duration")
	res := steps.Attr(cfg, "resource")
	modes := 0
	var set []string
	for _, n := range []string{"condition", "rollout", "until"} {
		a := steps.Attr(cfg, n)
		if a.IsNull() || (n == "rollout" && a.IsKnown() && a.False()) {
			continue
		}
		modes++
		set = append(set, n)
	}
	switch {
	case !dur.IsNull() && !res.IsNull():
		out = append(out, steps.Problem{Path: []string{"duration"}, Summary: "Two things to wait for",
			Detail: "A wait step takes either duration or a resource block, not both."})
	case dur.IsNull() && res.IsNull():
		out = append(out, steps.Problem{Path: []string{"duration"}, Summary: "Nothing to wait for",
			Detail: `A wait step needs duration = "30s", or a resource block with condition, rollout = true or until.`})
	case !res.IsNull() && modes != 1:
		detail := `A resource wait needs exactly one of condition = "Available", rollout = true or until = <expression over object>`
		if modes > 1 {
			detail += fmt.Sprintf("; this one sets %v", set)
		}
		out = append(out, steps.Problem{Path: []string{"resource"}, Summary: "What to wait for is ambiguous", Detail: detail + "."})
	case res.IsNull() && modes > 0:
		out = append(out, steps.Problem{Path: []string{set[0]}, Summary: "No resource to wait for",
			Detail: set[0] + " needs a resource { kind = ..., name = ... } block."})
	}
	if c := steps.Attr(cfg, "condition"); !c.IsNull() && c.IsKnown() {
		if _, _, err := parseCondition(c.AsString()); err != nil {
			out = append(out, steps.Problem{Path: []string{"condition"}, Summary: "Invalid condition", Detail: err.Error()})
		}
	}
	return out
}

func (w waitKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	if !steps.Attr(cfg, "resource").IsNull() {
		return w.runResource(ctx, env, cfg)
	}
	d, err := steps.Duration(cfg, "duration", 0)
	if err != nil {
		return cty.NilVal, err
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
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		err := context.Cause(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("wait of %s cut short by the stage timeout: %w", d, err)
		}
		return fmt.Errorf("wait of %s interrupted: %w", d, err)
	}
}
