package kube

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
// state (see wait_resource.go).
type waitKind struct{}

func (waitKind) Name() string { return "wait" }

func (waitKind) Spec() hcldec.Spec {
	return &hcldec.ObjectSpec{
		"duration": &hcldec.AttrSpec{Name: "duration", Type: cty.String},
	}
}

// Output is dynamic: the duration mode returns a null object, the resource
// mode the object it waited for.
func (waitKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"object": cty.DynamicPseudoType})
}

func (waitKind) Check(cfg cty.Value) []steps.Problem {
	var out []steps.Problem
	out = append(out, steps.CheckDurations(cfg, nil, "duration")...)
	if a := steps.Attr(cfg, "duration"); a.IsKnown() && a.IsNull() {
		out = append(out, steps.Problem{
			Path:    []string{"duration"},
			Summary: "Nothing to wait for",
			Detail:  `A wait step needs duration = "30s" (or a resource block).`,
		})
	}
	return out
}

func (waitKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	d, err := steps.Duration(cfg, "duration", 0)
	if err != nil {
		return cty.NilVal, err
	}
	none := cty.ObjectVal(map[string]cty.Value{"object": cty.NullVal(cty.DynamicPseudoType)})
	if err := sleep(ctx, env, d); err != nil {
		return cty.NilVal, err
	}
	return none, nil
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
