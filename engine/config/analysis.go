package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"

	"github.com/cutoverhq/cutover/steps"
)

// Analysis is a top-level `analysis "NAME" {}` block: a reusable gate. Its
// body is kept whole; the kind that runs analyses decodes it once per
// measurement.
type Analysis struct {
	Name      string
	Body      hcl.Body
	Spec      hcldec.Spec // nil when no analysis implementation is registered
	DeclRange hcl.Range
}

func decodeAnalysisBlock(b *hcl.Block, reg *steps.Registry) (*Analysis, hcl.Diagnostics) {
	a := &Analysis{Name: b.Labels[0], Body: b.Body, Spec: reg.AnalysisSpec(), DeclRange: b.DefRange}
	diags := validName("analysis", a.Name, b.LabelRanges[0])
	if a.Spec == nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Analyses are not available",
			Detail:   "This build of cutover has no analysis providers.",
			Subject:  b.DefRange.Ptr(),
		})
	}
	return a, diags
}
