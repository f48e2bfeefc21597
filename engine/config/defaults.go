package config

import "github.com/hashicorp/hcl/v2"

// Defaults is the top-level `defaults {}` block: settings every stage has
// unless it sets its own. A stage's timeout replaces the default one
// (timeout = null: none); a stage's retry block replaces the default block
// whole, not attribute by attribute, so what a stage says is all there is
// to read. What depends on the stage itself (depends_on, for_each, when,
// undo) has no default.
type Defaults struct {
	Timeout   hcl.Expression
	Retry     *Retry
	DeclRange hcl.Range
}

var defaultsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "timeout"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "retry"}},
}

func decodeDefaultsBlock(b *hcl.Block) (*Defaults, hcl.Diagnostics) {
	d := &Defaults{DeclRange: b.DefRange}
	content, diags := b.Body.Content(defaultsSchema)
	d.Timeout = attrExpr(content, "timeout")
	for _, blk := range content.Blocks {
		diags = append(diags, decodeRetryInto(&d.Retry, blk)...)
	}
	return d, diags
}

// settings are the expressions of a retry block, for reference checks.
func (r *Retry) settings() []hcl.Expression {
	if r == nil {
		return nil
	}
	return []hcl.Expression{r.Attempts, r.Backoff, r.Delay, r.MaxDelay, r.Jitter, r.Timeouts}
}
