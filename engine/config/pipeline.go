package config

import (
	"github.com/hashicorp/hcl/v2"
)

// Pipeline is the `pipeline "NAME" {}` block. Its settings are expressions:
// they may use variables and locals, so they are evaluated by the engine.
type Pipeline struct {
	Name        string
	Description hcl.Expression
	Namespace   hcl.Expression
	Parallelism hcl.Expression
	Lock        hcl.Expression
	OnFailure   hcl.Expression
	Timeout     hcl.Expression
	DeclRange   hcl.Range
}

var pipelineSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"}, {Name: "namespace"}, {Name: "parallelism"},
		{Name: "lock"}, {Name: "on_failure"}, {Name: "timeout"},
	},
}

func decodePipelineBlock(b *hcl.Block) (*Pipeline, hcl.Diagnostics) {
	p := &Pipeline{Name: b.Labels[0], DeclRange: b.DefRange}
	diags := validName("pipeline", p.Name, b.LabelRanges[0])
	content, d := b.Body.Content(pipelineSchema)
	diags = append(diags, d...)
	p.Description = attrExpr(content, "description")
	p.Namespace = attrExpr(content, "namespace")
	p.Parallelism = attrExpr(content, "parallelism")
	p.Lock = attrExpr(content, "lock")
	p.OnFailure = attrExpr(content, "on_failure")
	p.Timeout = attrExpr(content, "timeout")
	return p, diags
}

// attrExpr returns the attribute's expression, or nil when it is absent.
func attrExpr(c *hcl.BodyContent, name string) hcl.Expression {
	if a, ok := c.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}
