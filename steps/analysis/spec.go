package analysis

import (
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

func init() {
	steps.Default.SetAnalysisSpec(AnalysisSpec())
	steps.Default.SetAnalysisBinds("result")
	steps.Register(verifyKind{})
}

// providerNames are the provider block types; an analysis holds exactly one.
var providerNames = []string{"http", "prometheus", "kubernetes", "exec", "probe"}

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

func httpSpec() hcldec.Spec {
	return conditionAttrs(hcldec.ObjectSpec{
		"url":      str("url", true),
		"method":   str("method", false),
		"headers":  &hcldec.AttrSpec{Name: "headers", Type: cty.Map(cty.String)},
		"body":     str("body", false),
		"timeout":  str("timeout", false),
		"insecure": &hcldec.AttrSpec{Name: "insecure", Type: cty.Bool},
	})
}

func prometheusSpec() hcldec.Spec {
	return conditionAttrs(hcldec.ObjectSpec{
		"address": str("address", true),
		"query":   str("query", true),
		"timeout": str("timeout", false),
		// headers carry credentials for a Prometheus behind a proxy
		// (Authorization: Bearer …); they are sent, never shown.
		"headers": &hcldec.AttrSpec{Name: "headers", Type: cty.Map(cty.String)},
	})
}

func kubernetesSpec() hcldec.Spec {
	return conditionAttrs(hcldec.ObjectSpec{
		"kind":        str("kind", true),
		"name":        str("name", true),
		"namespace":   str("namespace", false),
		"api_version": str("api_version", false),
	})
}

func execSpec() hcldec.Spec {
	return conditionAttrs(hcldec.ObjectSpec{
		"command": &hcldec.AttrSpec{Name: "command", Type: cty.List(cty.String), Required: true},
		"env":     &hcldec.AttrSpec{Name: "env", Type: cty.Map(cty.String)},
		"dir":     str("dir", false),
		"timeout": str("timeout", false),
	})
}

// settingsSpec is the body of an analysis, shared by the top-level block and
// the inline form of verify.
func settingsSpec() hcldec.ObjectSpec {
	return conditionAttrs(hcldec.ObjectSpec{
		"interval":                str("interval", false),
		"count":                   num("count"),
		"initial_delay":           str("initial_delay", false),
		"failure_limit":           num("failure_limit"),
		"inconclusive_limit":      num("inconclusive_limit"),
		"consecutive_error_limit": num("consecutive_error_limit"),
		"http":                    &hcldec.BlockSpec{TypeName: "http", Nested: httpSpec()},
		"prometheus":              &hcldec.BlockSpec{TypeName: "prometheus", Nested: prometheusSpec()},
		"kubernetes":              &hcldec.BlockSpec{TypeName: "kubernetes", Nested: kubernetesSpec()},
		"exec":                    &hcldec.BlockSpec{TypeName: "exec", Nested: execSpec()},
		"probe":                   &hcldec.BlockSpec{TypeName: "probe", Nested: probeSpec()},
	})
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
