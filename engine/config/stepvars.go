package config

import (
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// varPlan is where hcldec.Variables finds a step block's references, for
// the specs steps.SpecFor builds (objects of attributes and unlabelled
// nested blocks), worked out once per kind and Load.
//
// hcldec.Variables derives the body schema from the spec and copies the
// body's content on every call: for a pipeline of 10,000 stages, most of
// the reference check (docs/design.md, "Targets"). With the plan, a
// native-syntax body is read directly: each attribute the spec names, and
// in the first unlabelled block of each nested block type the spec names,
// the same again; which is what hcldec.Variables returns, in a fixed order.
type varPlan struct {
	attrs  []string
	blocks []blockPlan
}

type blockPlan struct {
	typ    string
	nested *varPlan
}

// planVariables returns nil for a spec of any other shape: hcldec.Variables
// reads those.
func planVariables(spec hcldec.Spec) *varPlan {
	obj, ok := spec.(hcldec.ObjectSpec)
	if !ok {
		return nil
	}
	p := &varPlan{}
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		switch s := obj[key].(type) {
		case *hcldec.AttrSpec:
			p.attrs = append(p.attrs, s.Name)
		case *hcldec.BlockSpec:
			nested := planVariables(s.Nested)
			if nested == nil {
				return nil
			}
			p.blocks = append(p.blocks, blockPlan{typ: s.TypeName, nested: nested})
		default:
			return nil
		}
	}
	return p
}

// variables is hcldec.Variables(body, spec) for the spec p was planned from.
func (p *varPlan) variables(body hcl.Body, spec hcldec.Spec) []hcl.Traversal {
	sb, ok := body.(*hclsyntax.Body)
	if p == nil || !ok {
		return hcldec.Variables(body, spec)
	}
	var out []hcl.Traversal
	p.append(sb, &out)
	return out
}

func (p *varPlan) append(b *hclsyntax.Body, out *[]hcl.Traversal) {
	for _, name := range p.attrs {
		if a, ok := b.Attributes[name]; ok {
			*out = append(*out, a.Expr.Variables()...)
		}
	}
	for _, bp := range p.blocks {
		// hcl leaves a block with labels out of the content (and reports
		// it when decoding): the first one without is the block read.
		for _, blk := range b.Blocks {
			if blk.Type == bp.typ && len(blk.Labels) == 0 {
				bp.nested.append(blk.Body, out)
				break
			}
		}
	}
}
