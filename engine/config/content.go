package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// indexedSchema is a body schema with its names in sets, for decoding the
// bodies of many blocks of one type (stages, undo blocks).
//
// hcl's Content builds a map of the schema's block types on every call;
// the stage schema names every step kind, so a pipeline of 10,000 stages
// spent a fifth of validate's memory on those maps (docs/design.md,
// "Targets").
type indexedSchema struct {
	*hcl.BodySchema
	attrs, blocks map[string]bool
}

func indexSchema(s *hcl.BodySchema) *indexedSchema {
	ix := &indexedSchema{BodySchema: s, attrs: map[string]bool{}, blocks: map[string]bool{}}
	for _, a := range s.Attributes {
		if a.Required {
			panic("indexSchema: required attributes are checked by hcl's Content only")
		}
		ix.attrs[a.Name] = true
	}
	for _, b := range s.Blocks {
		if len(b.LabelNames) > 0 {
			panic("indexSchema: labelled blocks are checked by hcl's Content only")
		}
		ix.blocks[b.Type] = true
	}
	return ix
}

// content is body.Content(schema). A native-syntax body whose every
// attribute and block is in the schema is read directly; anything else goes
// through hcl's Content, which reports what is wrong.
func (ix *indexedSchema) content(body hcl.Body) (*hcl.BodyContent, hcl.Diagnostics) {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return body.Content(ix.BodySchema)
	}
	for name := range sb.Attributes {
		if !ix.attrs[name] {
			return body.Content(ix.BodySchema)
		}
	}
	for _, b := range sb.Blocks {
		if !ix.blocks[b.Type] || len(b.Labels) > 0 {
			return body.Content(ix.BodySchema)
		}
	}
	// The attributes and blocks are allocated together, not one by one as
	// AsHCLAttribute and AsHCLBlock would: a few of each for every stage.
	c := &hcl.BodyContent{Attributes: make(hcl.Attributes, len(sb.Attributes)), MissingItemRange: sb.MissingItemRange()}
	attrs := make([]hcl.Attribute, 0, len(sb.Attributes))
	for name, a := range sb.Attributes {
		attrs = append(attrs, hcl.Attribute{Name: a.Name, Expr: a.Expr, Range: a.SrcRange, NameRange: a.NameRange})
		c.Attributes[name] = &attrs[len(attrs)-1]
	}
	if len(sb.Blocks) > 0 {
		blocks := make([]hcl.Block, len(sb.Blocks))
		c.Blocks = make(hcl.Blocks, len(sb.Blocks))
		for i, b := range sb.Blocks {
			blocks[i] = hcl.Block{Type: b.Type, Labels: b.Labels, Body: b.Body, DefRange: b.DefRange(), TypeRange: b.TypeRange, LabelRanges: b.LabelRanges}
			c.Blocks[i] = &blocks[i]
		}
	}
	return c, nil
}
