package analysis

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// Permissions of verify (steps.Permissioner): those its provider declares
// (Provider.Permissions). Of the built-in providers only kubernetes reads
// the cluster; the others speak HTTP or run a command, and need no rule.
func (verifyKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	cfg, _ = cfg.UnmarkDeep()
	name := "inline analysis"
	var ref verifyRef
	if u, _ := steps.Decode(cfg, &ref); u.Has("analysis") {
		return nil, nil // not known before the run
	}
	if a := ref.Analysis; a != nil {
		ectx := withResult(nil, cty.DynamicVal)
		if env != nil && env.EvalContext != nil {
			ectx = withResult(env.EvalContext, cty.DynamicVal)
		}
		v, diags := hcldec.Decode(a.Body, AnalysisSpec(), ectx)
		if diags.HasErrors() {
			return nil, fmt.Errorf("analysis %s: %s", a.Name, diags.Error())
		}
		cfg, _ = v.UnmarkDeep()
		name = "analysis " + a.Name
	}
	var out []steps.Permission
	for _, d := range present(cfg) {
		if d.Permissions == nil {
			continue
		}
		ps, err := d.Permissions(env, blockOf(cfg, d), name)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}
