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

// blockContent is a body's content as an indexedSchema reads it: the
// native-syntax body itself when it holds nothing the schema does not
// name (its attributes are then read in place, not copied into a map as
// hcl's Content does for every stage), or hcl's content otherwise.
type blockContent struct {
	syntax *hclsyntax.Body
	attrs  hcl.Attributes
	Blocks hcl.Blocks
}

// Attr is the attribute name, or nil when it is not set.
func (c blockContent) Attr(name string) *hcl.Attribute {
	if c.syntax != nil {
		return c.syntax.Attributes[name].AsHCLAttribute()
	}
	return c.attrs[name]
}

// Expr is the expression of attribute name, or nil when it is not set.
func (c blockContent) Expr(name string) hcl.Expression {
	if c.syntax != nil {
		if a, ok := c.syntax.Attributes[name]; ok {
			return a.Expr
		}
		return nil
	}
	if a, ok := c.attrs[name]; ok {
		return a.Expr
	}
	return nil
}

// content is body.Content(schema). A native-syntax body whose every
// attribute and block is in the schema is read directly; anything else goes
// through hcl's Content, which reports what is wrong.
func (ix *indexedSchema) content(body hcl.Body) (blockContent, hcl.Diagnostics) {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return ix.hclContent(body)
	}
	for name := range sb.Attributes {
		if !ix.attrs[name] {
			return ix.hclContent(body)
		}
	}
	for _, b := range sb.Blocks {
		if !ix.blocks[b.Type] || len(b.Labels) > 0 {
			return ix.hclContent(body)
		}
	}
	c := blockContent{syntax: sb}
	if len(sb.Blocks) > 0 {
		// Allocated together, not one by one as AsHCLBlock would.
		blocks := make([]hcl.Block, len(sb.Blocks))
		c.Blocks = make(hcl.Blocks, len(sb.Blocks))
		for i, b := range sb.Blocks {
			blocks[i] = hcl.Block{Type: b.Type, Labels: b.Labels, Body: b.Body, DefRange: b.DefRange(), TypeRange: b.TypeRange, LabelRanges: b.LabelRanges}
			c.Blocks[i] = &blocks[i]
		}
	}
	return c, nil
}

func (ix *indexedSchema) hclContent(body hcl.Body) (blockContent, hcl.Diagnostics) {
	c, diags := body.Content(ix.BodySchema)
	if c == nil {
		return blockContent{}, diags
	}
	return blockContent{attrs: c.Attributes, Blocks: c.Blocks}, diags
}
