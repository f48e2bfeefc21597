package engine

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/customdecode"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// decodeStep is hcldec.Decode(body, spec, ctx).
//
// Checking a large pipeline decodes a step block per stage, and hcldec
// derives the body schema from the spec and copies the body's content on
// every call before it evaluates anything: a tenth of validate's time for
// 10,000 stages (docs/design.md, "Targets"). A block that decodes cleanly
// is read directly here instead; anything else goes to hcldec, whose
// diagnostics are the ones reported.
func decodeStep(body hcl.Body, spec hcldec.Spec, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	if v, ok := decodeAttrs(body, spec, ctx); ok {
		return v, nil
	}
	return hcldec.Decode(body, spec, ctx)
}

// decodeAttrs is what hcldec.Decode returns, without a diagnostic, for an
// object spec of attributes only (each keyed by its own name, none with a
// custom decoder), and a native-syntax body without blocks, with every
// required attribute and no other, each evaluating without a diagnostic
// to a value its type converts: false, with nothing decoded, for any other
// spec or body.
func decodeAttrs(body hcl.Body, spec hcldec.Spec, ctx *hcl.EvalContext) (cty.Value, bool) {
	obj, ok := spec.(hcldec.ObjectSpec)
	sb, syntax := body.(*hclsyntax.Body)
	if !ok || !syntax || len(sb.Blocks) > 0 {
		return cty.NilVal, false
	}
	for name := range sb.Attributes {
		if _, ok := obj[name]; !ok {
			return cty.NilVal, false
		}
	}
	vals := make(map[string]cty.Value, len(obj))
	for key, s := range obj {
		as, ok := s.(*hcldec.AttrSpec)
		if !ok || as.Name != key || customdecode.CustomExpressionDecoderForType(as.Type) != nil {
			return cty.NilVal, false
		}
		a, set := sb.Attributes[key]
		if !set {
			if as.Required {
				return cty.NilVal, false
			}
			vals[key] = cty.NullVal(as.Type.WithoutOptionalAttributesDeep())
			continue
		}
		v, diags := a.Expr.Value(ctx)
		if len(diags) > 0 {
			return cty.NilVal, false
		}
		if v, err := convert.Convert(v, as.Type); err == nil {
			vals[key] = v
		} else {
			return cty.NilVal, false
		}
	}
	return cty.ObjectVal(vals), true
}
