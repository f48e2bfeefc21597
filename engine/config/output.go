package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Output is an `output "NAME" {}` block: a value reported when the run ends.
type Output struct {
	Name        string
	Value       hcl.Expression
	Description string
	Sensitive   bool
	DeclRange   hcl.Range
}

var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "value", Required: true}, {Name: "description"}, {Name: "sensitive"},
	},
}

func decodeOutputBlock(b *hcl.Block) (*Output, hcl.Diagnostics) {
	o := &Output{Name: b.Labels[0], DeclRange: b.DefRange}
	diags := validName("output", o.Name, b.LabelRanges[0])
	content, d := b.Body.Content(outputSchema)
	diags = append(diags, d...)
	o.Value = attrExpr(content, "value")
	if a, ok := content.Attributes["description"]; ok {
		diags = append(diags, decodeLiteral(a, cty.String, func(v cty.Value) { o.Description = v.AsString() })...)
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, decodeLiteral(a, cty.Bool, func(v cty.Value) { o.Sensitive = v.True() })...)
	}
	return o, diags
}
