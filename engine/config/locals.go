package config

import "github.com/hashicorp/hcl/v2"

// Local is one attribute of a `locals {}` block.
type Local struct {
	Name      string
	Expr      hcl.Expression
	DeclRange hcl.Range
}

func decodeLocalsBlock(b *hcl.Block) ([]*Local, hcl.Diagnostics) {
	attrs, diags := b.Body.JustAttributes()
	var out []*Local
	for _, a := range attrs {
		diags = append(diags, validName("local value", a.Name, a.NameRange)...)
		out = append(out, &Local{Name: a.Name, Expr: a.Expr, DeclRange: a.Range})
	}
	return out, diags
}
