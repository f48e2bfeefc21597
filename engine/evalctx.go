package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/steps"
)

// StageState is what later stages see of a finished stage.
type StageState struct {
	Status events.Status // succeeded or skipped
	Output cty.Value     // null when skipped
}

// EvalContext returns the context a stage's expressions are evaluated in.
// With done == nil (plan, load-time checks) every stage is an unknown value
// of its step's output type, which plan shows as "known after". Otherwise
// only the stages in done are present: references were checked at load, so
// a stage can only refer to its dependencies, and building every stage's
// value for every stage would make a large pipeline quadratic.
func (p *Program) EvalContext(done map[string]StageState) *hcl.EvalContext {
	n := len(done)
	if done == nil {
		n = len(p.Stages)
	}
	states := make(map[string]cty.Value, n)
	if done == nil {
		// One value per output type, shared by the stages of a kind: a
		// large pipeline has few kinds and many stages.
		unknown := map[string]cty.Value{}
		for addr, st := range p.Stages {
			kind := kindName(st.Stage)
			v, ok := unknown[kind]
			if !ok {
				v = cty.ObjectVal(map[string]cty.Value{"output": cty.UnknownVal(outputType(st.Stage)), "status": cty.UnknownVal(cty.String)})
				unknown[kind] = v
			}
			states[addr] = v
		}
	}
	for addr, s := range done {
		out := s.Output
		if out == cty.NilVal || out.IsNull() {
			out = cty.NullVal(outputType(p.Stages[addr].Stage))
		}
		states[addr] = cty.ObjectVal(map[string]cty.Value{"output": out, "status": cty.StringVal(string(s.Status))})
	}
	stages := p.stageValues(states)
	analyses := make(map[string]cty.Value, len(p.Config.Analyses))
	for name, a := range p.Config.Analyses {
		analyses[name] = cty.CapsuleVal(steps.AnalysisType, &steps.Analysis{Name: name, Body: a.Body, Range: a.DeclRange})
	}
	vars := map[string]cty.Value{
		"var":      objectOrEmpty(p.Vars),
		"local":    objectOrEmpty(p.Locals),
		"stage":    objectOrEmpty(stages),
		"analysis": objectOrEmpty(analyses),
	}
	// Bound by the kind while it runs (each measurement, each version of
	// a watched object); unknown until then. Load made sure only the kinds
	// that bind a name use it.
	for _, n := range p.bound() {
		vars[n] = cty.DynamicVal
	}
	if len(p.Targets) > 0 {
		// Known per target while a share runs (runner.evalContext).
		vars["target"] = cty.UnknownVal(targetType)
	}
	return &hcl.EvalContext{Variables: vars, Functions: p.funcs}
}

// kindName names the kind of a stage's step; "" when it has none known.
func kindName(cs *config.Stage) string {
	if cs != nil && cs.Step != nil && cs.Step.Kind != nil {
		return cs.Step.Kind.Name()
	}
	return ""
}

func outputType(cs *config.Stage) cty.Type {
	if cs != nil && cs.Step != nil && cs.Step.Kind != nil {
		return cs.Step.Kind.Output()
	}
	return cty.DynamicPseudoType
}

func evalString(e hcl.Expression, ctx *hcl.EvalContext, dst *string) hcl.Diagnostics {
	v, diags := evalAs(e, ctx, cty.String)
	if v != cty.NilVal {
		*dst = v.AsString()
	}
	return diags
}

func evalInt(e hcl.Expression, ctx *hcl.EvalContext, dst *int64) hcl.Diagnostics {
	v, diags := evalAs(e, ctx, cty.Number)
	if v != cty.NilVal {
		bf := v.AsBigFloat()
		i, acc := bf.Int64()
		if !bf.IsInt() || acc != 0 {
			return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid number",
				Detail: "A whole number is required here.", Subject: e.Range().Ptr()})
		}
		*dst = i
	}
	return diags
}

func evalDuration(e hcl.Expression, ctx *hcl.EvalContext, dst *time.Duration) hcl.Diagnostics {
	v, diags := evalAs(e, ctx, cty.String)
	if v == cty.NilVal {
		return diags // absent, null (none) or invalid
	}
	d, err := steps.ParseDuration(v.AsString())
	if err != nil {
		return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid duration",
			Detail: err.Error() + ".", Subject: e.Range().Ptr()})
	}
	*dst = d
	return diags
}

// evalAs evaluates an optional expression to a known, non-null value of ty;
// cty.NilVal when absent or invalid.
func evalAs(e hcl.Expression, ctx *hcl.EvalContext, ty cty.Type) (cty.Value, hcl.Diagnostics) {
	if e == nil {
		return cty.NilVal, nil
	}
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	v, _ = v.UnmarkDeep()
	if v.IsNull() {
		return cty.NilVal, nil
	}
	if !v.IsWhollyKnown() {
		// Only a variable that has no valid value (already reported) makes
		// these settings unknown: stage outputs are rejected earlier.
		return cty.NilVal, diags
	}
	conv, err := convert.Convert(v, ty)
	if err != nil {
		// cty's own error ("a number is required") only repeats what is
		// required; the type given is the news (not its value: it may be
		// a secret).
		return cty.NilVal, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Incorrect value type",
			Detail:  fmt.Sprintf("%s is required here, not %s.", upper(words.A(ty.FriendlyName())), words.A(v.Type().FriendlyName())),
			Subject: e.Range().Ptr()})
	}
	return conv, diags
}

func upper(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// bound is every name some kind binds at run time.
func (p *Program) bound() []string {
	if p.Config.Registry == nil {
		return nil
	}
	return p.Config.Registry.Bound()
}
