package engine

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/internal/words"
)

// Sensitive marks values derived from a sensitive variable.
const Sensitive = "sensitive"

// Inputs are the variable values given on the command line and in the
// environment. Precedence, highest first: Vars (-var, last one wins),
// VarFiles (-var-file, later files win), Env (CUTOVER_VAR_name), default.
type Inputs struct {
	Vars     []string // "name=value"
	VarFiles []string
	Env      []string // os.Environ() form; nil means none
	// AllowMissing treats a required variable given no value as unknown
	// instead of an error (validate, graph, rbac: what is checked or drawn
	// does not need it); Program.Missing names them.
	AllowMissing bool
	// Saved are the values a run was started with, read back from its
	// journal for --resume and undo: they override variable files and the
	// environment, and -var given now overrides them.
	Saved map[string]cty.Value
}

type rawValue struct {
	text  string // a -var or environment value: parsed by the variable's type
	value cty.Value
	expr  hcl.Expression // from a var file
	rng   hcl.Range
	// source names where the value was given, as a diagnostic about it
	// starts: -var NAME, -var-file FILE:LINE, CUTOVER_VAR_NAME; "" for a
	// default or the run's journal.
	source string
}

// resolveVariables returns every variable's value, converted, validated and
// marked when sensitive.
func resolveVariables(cfg *config.Config, in Inputs, fns ctxFuncs) (map[string]cty.Value, []string, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var missing []string
	given := map[string]rawValue{}
	const prefix = "CUTOVER_VAR_"
	for _, kv := range in.Env {
		if !strings.HasPrefix(kv, prefix) {
			continue
		}
		name, val, _ := strings.Cut(strings.TrimPrefix(kv, prefix), "=")
		if _, declared := cfg.Variables[name]; declared {
			given[name] = rawValue{text: val, rng: hcl.Range{Filename: prefix + name}, source: prefix + name}
		}
	}
	for _, f := range in.VarFiles {
		// The same guards as pipeline files: a binary, huge or absurdly
		// nested file is one diagnostic, not a crash or minutes of parsing.
		src, bad := config.ReadSource(f, "variable file")
		if bad == nil {
			bad = config.CheckSource(src, f, config.ConfigSource)
		}
		if bad != nil {
			diags = append(diags, bad)
			continue
		}
		// A .json file is Terraform's JSON variable file: one object whose
		// properties are the values (what a CI script writes with jq).
		parse := cfg.Parser.ParseHCL
		if strings.HasSuffix(f, ".json") {
			parse = cfg.Parser.ParseJSON
		}
		file, d := parse(src, f)
		diags = append(diags, withoutQuotes(d, cfg)...)
		if d.HasErrors() {
			continue
		}
		attrs, d := file.Body.JustAttributes()
		diags = append(diags, d...)
		for name, a := range attrs {
			if _, declared := cfg.Variables[name]; !declared {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Value for undeclared variable",
					Detail:  fmt.Sprintf("The pipeline declares no variable %q.%s", name, didYouMean(cfg, name)),
					Subject: a.NameRange.Ptr(),
				})
				continue
			}
			given[name] = rawValue{expr: a.Expr, rng: a.Expr.Range(), source: fmt.Sprintf("-var-file %s:%d", f, a.NameRange.Start.Line)}
		}
	}
	for name, v := range in.Saved {
		if _, declared := cfg.Variables[name]; declared && v != cty.NilVal {
			given[name] = rawValue{value: v, rng: hcl.Range{Filename: "the run's journal"}}
		}
	}
	for _, kv := range in.Vars {
		name, val, ok := strings.Cut(kv, "=")
		rng := hcl.Range{Filename: "-var " + name}
		if !ok || name == "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -var option",
				Detail: fmt.Sprintf("%q: a -var option is written name=value.", kv)})
			continue
		}
		if _, declared := cfg.Variables[name]; !declared {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Value for undeclared variable",
				Detail: fmt.Sprintf("-var %s: the pipeline declares no variable %q.%s", kv, name, didYouMean(cfg, name))})
			continue
		}
		given[name] = rawValue{text: val, rng: rng, source: rng.Filename}
	}

	vals := map[string]cty.Value{}
	sources := map[string]string{}
	for _, name := range cfg.VariableOrder {
		vals[name] = cty.DynamicVal // until a valid value is found below
		v := cfg.Variables[name]
		raw, ok := given[name]
		sources[name] = raw.source
		var val cty.Value
		switch {
		case ok && raw.value != cty.NilVal:
			val = raw.value
		case ok && raw.expr != nil:
			var d hcl.Diagnostics
			val, d = raw.expr.Value(nil)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
		case ok:
			var d hcl.Diagnostics
			val, d = parseText(raw.text, v.Type, raw.rng, v.Sensitive)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
		case v.HasDefault:
			val = v.Default
		case in.AllowMissing:
			unknown := cty.UnknownVal(v.Type)
			if v.Sensitive {
				unknown = unknown.Mark(Sensitive)
			}
			vals[name] = unknown
			missing = append(missing, name)
			continue
		default:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "No value for required variable",
				Detail: fmt.Sprintf("Variable %q has no default. Give it with -var %s=VALUE, in a -var-file, or as CUTOVER_VAR_%s.",
					name, name, name),
				Subject: v.DeclRange.Ptr(),
			})
			continue
		}
		conv, err := convert.Convert(val, v.Type)
		if err != nil {
			what := fmt.Sprintf("The value given for %q", name)
			switch {
			case raw.source != "" && raw.expr == nil:
				what = raw.source + ": " + shownText(raw.text, v.Sensitive)
			case raw.source != "":
				what = raw.source + ": the value"
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid value for variable",
				Detail:  fmt.Sprintf("%s is not %s: %s.", what, words.A(v.Type.FriendlyName()), err),
				Subject: subjectOf(raw.rng, v.DeclRange),
			})
			continue
		}
		if v.Sensitive {
			diags = append(diags, shortSecrets(v, conv, subjectOf(raw.rng, v.DeclRange))...)
			conv = conv.Mark(Sensitive)
		}
		vals[name] = conv
	}
	if diags.HasErrors() {
		return vals, missing, diags
	}
	all := cty.ObjectVal(vals)
	for _, name := range cfg.VariableOrder {
		diags = append(diags, validateVariable(cfg.Variables[name], sources[name], all, fns)...)
	}
	return vals, missing, diags
}

// didYouMean names the declared variable closest to name (" Did you mean
// chart_values?"), "" when none is close.
func didYouMean(cfg *config.Config, name string) string {
	if s := config.Suggest(name, cfg.VariableOrder); s != "" {
		return " Did you mean " + s + "?"
	}
	return ""
}

// subjectOf prefers a real source range (a var file) over a synthetic one.
func subjectOf(given, decl hcl.Range) *hcl.Range {
	if given.Start.Line > 0 {
		return given.Ptr()
	}
	return decl.Ptr()
}

// parseText reads a -var or environment value: verbatim for string
// variables, as an HCL expression for every other type (lists, maps, numbers).
// A sensitive value is never quoted back, even malformed.
func parseText(text string, ty cty.Type, rng hcl.Range, sensitive bool) (cty.Value, hcl.Diagnostics) {
	if ty == cty.String || ty == cty.DynamicPseudoType {
		return cty.StringVal(text), nil
	}
	if bad := config.CheckSource([]byte(text), rng.Filename, config.ExpressionSource); bad != nil {
		if sensitive {
			bad.Detail = rng.Filename + ": the (sensitive) value is not a " + ty.FriendlyName() + " and is too deeply nested to read."
		}
		return cty.NilVal, hcl.Diagnostics{bad}
	}
	expr, diags := hclsyntax.ParseExpression([]byte(text), rng.Filename, hcl.InitialPos)
	if !diags.HasErrors() && len(expr.Variables()) == 0 {
		v, d := expr.Value(nil)
		if !d.HasErrors() {
			return v, nil
		}
	}
	return cty.NilVal, hcl.Diagnostics{{
		Severity: hcl.DiagError, Summary: "Invalid value for variable",
		Detail: fmt.Sprintf("%s: %s is not %s. Values of non-string variables are written as HCL: 3, true, [\"a\", \"b\"], {k = \"v\"}.",
			rng.Filename, shownText(text, sensitive), words.A(ty.FriendlyName())),
	}}
}

// shownText quotes a -var or environment value in a diagnostic as it was
// typed: "three", or '["a"]' when double quotes are in it. A sensitive one
// is never quoted back, even malformed.
func shownText(text string, sensitive bool) string {
	switch {
	case sensitive:
		return "the value (sensitive, not shown)"
	case strings.Contains(text, `"`) && !strings.Contains(text, "'"):
		return "'" + text + "'"
	}
	return fmt.Sprintf("%q", text)
}

// validateVariable checks v's validation rules against vars, every
// variable's value (a rule may weigh v against another). A failure's
// message starts with where v's value was given (source, as rawValue
// names it), or var.NAME for a default.
func validateVariable(v *config.Variable, source string, vars cty.Value, fns ctxFuncs) hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": vars},
		Functions: fns,
	}
	for _, rule := range v.Validations {
		ok, d := rule.Condition.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		ok, _ = ok.Unmark()
		if ok.IsKnown() && (ok.IsNull() || ok.Type() != cty.Bool) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid validation condition",
				Detail: "The condition must be true or false.", Subject: rule.Condition.Range().Ptr()})
			continue
		}
		if !ok.IsKnown() || ok.True() {
			continue // unknown: a value not given (validate); checked when it is
		}
		msg, d := rule.ErrorMessage.Value(ctx)
		detail := "The value failed validation."
		if !d.HasErrors() {
			if m, marks := msg.Unmark(); len(marks) == 0 && m.Type() == cty.String && !m.IsNull() {
				detail = m.AsString()
			}
		}
		if v.Sensitive {
			detail += " (The value is sensitive and not shown.)"
		}
		if source == "" {
			source = "var." + v.Name
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Invalid value for variable",
			Detail:  fmt.Sprintf("%s: %s", source, detail),
			Subject: rule.Condition.Range().Ptr(),
		})
	}
	return diags
}

// withoutQuotes keeps a variable file's syntax errors from quoting its text
// when the pipeline has a sensitive variable: the JSON parser names the
// word it stopped at ("hunter" is not a valid JSON keyword), which may be
// part of a secret. The place (file:line:col) is kept.
func withoutQuotes(diags hcl.Diagnostics, cfg *config.Config) hcl.Diagnostics {
	sensitive := false
	for _, v := range cfg.Variables {
		sensitive = sensitive || v.Sensitive
	}
	if !sensitive {
		return diags
	}
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		c := *d
		c.Detail = "The text there is not shown: the pipeline has sensitive variables, and a value may be one."
		out[i] = &c
	}
	return out
}
