package analysis

import (
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// The schema of top-level analysis blocks is declared by registerProvider,
// each time a provider joins the table.
func init() {
	steps.Default.SetAnalysisBinds("result")
	steps.Register(verifyKind{})
}

// conditionAttrs are accepted in the provider block and in the analysis body.
// Both are bool; at load time they are unknown because `result` is.
func conditionAttrs(o hcldec.ObjectSpec) hcldec.ObjectSpec {
	o["condition"] = &hcldec.AttrSpec{Name: "condition", Type: cty.Bool}
	o["failure_condition"] = &hcldec.AttrSpec{Name: "failure_condition", Type: cty.Bool}
	return o
}

func str(name string, required bool) hcldec.Spec {
	return &hcldec.AttrSpec{Name: name, Type: cty.String, Required: required}
}

func num(name string) hcldec.Spec {
	return &hcldec.AttrSpec{Name: name, Type: cty.Number}
}

// settingsAttrs are the attributes of an analysis body besides its provider
// block: the schedule, the limits and the conditions.
func settingsAttrs() hcldec.ObjectSpec {
	return conditionAttrs(hcldec.ObjectSpec{
		"interval":                str("interval", false),
		"count":                   num("count"),
		"initial_delay":           str("initial_delay", false),
		"failure_limit":           num("failure_limit"),
		"inconclusive_limit":      num("inconclusive_limit"),
		"consecutive_error_limit": num("consecutive_error_limit"),
	})
}

// settingsSpec is the body of an analysis, shared by the top-level block and
// the inline form of verify: the settings and one block per registered
// provider.
func settingsSpec() hcldec.ObjectSpec {
	o := settingsAttrs()
	for _, d := range providers {
		o[d.Name] = &hcldec.BlockSpec{TypeName: d.Name, Nested: d.blockSpec()}
	}
	return o
}

// AnalysisSpec is the schema of a top-level `analysis "NAME" {}` block.
func AnalysisSpec() hcldec.Spec { return settingsSpec() }

// verifySpec is the verify block: a reference to an analysis, or the
// analysis settings inline.
func verifySpec() hcldec.Spec {
	o := settingsSpec()
	o["analysis"] = &hcldec.AttrSpec{Name: "analysis", Type: steps.AnalysisType}
	return o
}

// outputType is what verify returns; last is dynamic because each provider
// shapes its result differently.
var measurementType = cty.Object(map[string]cty.Type{
	"value": cty.String, "phase": cty.String, "error": cty.String, "time": cty.String,
})

var outputType = cty.Object(map[string]cty.Type{
	"name":         cty.String,
	"phase":        cty.String,
	"successful":   cty.Number,
	"failed":       cty.Number,
	"inconclusive": cty.Number,
	"errors":       cty.Number,
	"measurements": cty.List(measurementType),
	"last":         cty.DynamicPseudoType,
})
