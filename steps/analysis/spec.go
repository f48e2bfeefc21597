package analysis

import (
	"maps"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// The schema of top-level analysis blocks is declared by RegisterProvider,
// each time a provider joins the table.
func init() {
	steps.Default.SetAnalysisBinds("result")
	steps.Register(verifyKind{})
}

// conditions are accepted in the provider block and in the analysis body.
// Both are bool; they are re-evaluated per measurement (judge.go), so the
// decoded values (unknown while `result` is) only say they are set.
type conditions struct {
	Condition        cty.Value `hcl:"condition,type=bool"`
	FailureCondition cty.Value `hcl:"failure_condition,type=bool"`
}

var conditionSpec = steps.SpecFor[conditions]()

// conditionDocs describe the conditions, in the body or a provider block.
var conditionDocs = map[string]string{
	"condition":         "An expression over `result` that is true when the measurement is Successful; false is Failed unless a `failure_condition` is given (then Inconclusive). Written here or in the provider block, not both.",
	"failure_condition": "An expression over `result` that is true when the measurement is Failed. Alone, a measurement is Successful when it is false.",
}

// analysisDocs are the descriptions of an analysis body for the reference
// (steps.Registry.SetAnalysisDocs): the settings and conditions, each
// provider's paragraph ("http") and its attributes ("http.url").
func analysisDocs() map[string]string {
	out := map[string]string{}
	maps.Copy(out, settingsDocs)
	maps.Copy(out, conditionDocs)
	for _, d := range providers {
		out[d.Name] = d.Doc
		for k, v := range d.AttrDocs {
			out[d.Name+"."+k] = v
		}
		for k, v := range conditionDocs {
			out[d.Name+"."+k] = v
		}
	}
	return out
}

// conditionAttrs adds the conditions to o.
func conditionAttrs(o hcldec.ObjectSpec) hcldec.ObjectSpec {
	for k, v := range conditionSpec {
		o[k] = v
	}
	return o
}

// settingsAttrs are the attributes of an analysis body besides its provider
// block: the schedule, the limits and the conditions (settingsConfig).
func settingsAttrs() hcldec.ObjectSpec {
	o := hcldec.ObjectSpec{}
	for k, v := range settingsSpec0 {
		o[k] = v
	}
	return o
}

var settingsSpec0 = steps.SpecFor[settingsConfig]()

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
	for k, v := range verifyRefSpec {
		o[k] = v
	}
	return o
}

// verifyRef is what a verify holds besides an inline analysis: a reference
// to a top-level one.
type verifyRef struct {
	Analysis *steps.Analysis `hcl:"analysis"`
}

var verifyRefSpec = steps.SpecFor[verifyRef]()

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
