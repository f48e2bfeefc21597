package analysis

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
)

// judge evaluates an analysis' conditions against one result. The
// conditions are expressions over `result`, so they cannot be evaluated when
// the engine decodes the block; judge decodes the body again, once per
// measurement, in a child of the stage's context with `result` bound.
type judge struct {
	body     hcl.Body
	spec     hcldec.Spec
	ctx      *hcl.EvalContext
	provider string
	// where each condition is written: "" (absent), "body" or "block".
	success, failure string
	// fallback judges a result when no condition is written; nil when the
	// provider has no natural verdict (Check requires a condition then).
	fallback func(cty.Value) Phase
}

// withResult returns a child of parent (which may be nil) with result bound.
func withResult(parent *hcl.EvalContext, result cty.Value) *hcl.EvalContext {
	var c *hcl.EvalContext
	if parent != nil {
		c = parent.NewChild()
	} else {
		c = &hcl.EvalContext{}
	}
	c.Variables = map[string]cty.Value{"result": result}
	return c
}

// newJudge finds where the conditions are written. Presence is read from the
// syntax, not from values: a condition that evaluates to null is an error of
// that measurement, not a missing condition.
func newJudge(body hcl.Body, spec hcldec.Spec, ctx *hcl.EvalContext, def *Provider) (*judge, error) {
	if body == nil {
		return nil, fmt.Errorf("the engine gave the verify step no body to evaluate its conditions in")
	}
	provider := def.Name
	j := &judge{body: body, spec: spec, ctx: ctx, provider: provider, fallback: def.Verdict}
	names := []hcl.AttributeSchema{{Name: "condition"}, {Name: "failure_condition"}}
	content, _, _ := body.PartialContent(&hcl.BodySchema{Attributes: names, Blocks: []hcl.BlockHeaderSchema{{Type: provider}}})
	where := func(name string) string {
		if _, ok := content.Attributes[name]; ok {
			return "body"
		}
		for _, b := range content.Blocks {
			inner, _, _ := b.Body.PartialContent(&hcl.BodySchema{Attributes: names})
			if _, ok := inner.Attributes[name]; ok {
				return "block"
			}
		}
		return ""
	}
	j.success, j.failure = where("condition"), where("failure_condition")
	if j.success == "" && j.failure == "" && j.fallback == nil {
		return nil, fmt.Errorf("a %s analysis needs condition = <expression over result>, such as %s", provider, def.ConditionExample)
	}
	return j, nil
}

// phase judges result with Argo Rollouts' rules: failure_condition true →
// Failed; condition true → Successful; both given and neither true →
// Inconclusive; a lone condition that is false → Failed; a lone
// failure_condition that is false → Successful.
func (j *judge) phase(result cty.Value) (Phase, error) {
	if j.success == "" && j.failure == "" {
		return j.fallback(result), nil
	}
	v, diags := hcldec.Decode(j.body, j.spec, withResult(j.ctx, result))
	if diags.HasErrors() {
		return Error, fmt.Errorf("evaluating the conditions: %s", diags.Error())
	}
	success, err := j.value(v, "condition", j.success)
	if err != nil {
		return Error, err
	}
	failure, err := j.value(v, "failure_condition", j.failure)
	if err != nil {
		return Error, err
	}
	switch {
	case failure != nil && *failure:
		return Failed, nil
	case success != nil && *success:
		return Successful, nil
	case success != nil && failure != nil:
		return Inconclusive, nil
	case success != nil:
		return Failed, nil
	default:
		return Successful, nil
	}
}

// value reads one decoded condition; nil when it is not written.
func (j *judge) value(v cty.Value, name, where string) (*bool, error) {
	var c cty.Value
	v, _ = v.UnmarkDeep() // a condition over a sensitive value is still a plain verdict
	switch where {
	case "":
		return nil, nil
	case "body":
		c = v.GetAttr(name)
	default:
		c = v.GetAttr(j.provider).GetAttr(name)
	}
	if c.IsNull() {
		return nil, fmt.Errorf("%s evaluated to null; it must be true or false (guard optional fields with try(...) or can(...))", name)
	}
	if !c.IsKnown() {
		return nil, fmt.Errorf("%s is not known at run time; it may only use result, variables, locals and finished stages", name)
	}
	b := c.True()
	return &b, nil
}
