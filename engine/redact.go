package engine

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/events"
)

// MinMasked is the shortest text the redactor hides. Masking every "on" or
// "42" of a run's output would wreck it while hiding little: a sensitive
// value shorter than this is still hidden wherever cutover shows it itself
// (marks), but not in what a command prints, and a warning says so when the
// pipeline loads (shortSecrets).
const MinMasked = 3

// secretsOf collects every leaf of the values marked Sensitive as the text
// it takes in output, for the redactor: marks protect values inside
// expressions, the redactor the copies that leave them (a command's output,
// an error quoting a header).
func secretsOf(vals map[string]cty.Value) []string {
	var secrets []string
	for _, v := range vals {
		if !v.HasMark(Sensitive) && !v.ContainsMarked() {
			continue
		}
		v, _ = v.UnmarkDeep()
		walkLeaves(v, nil, func(_ cty.Path, leaf cty.Value) {
			for _, s := range leafTexts(leaf) {
				if maskable(s) {
					secrets = append(secrets, s)
				}
			}
		})
	}
	return secrets
}

// maskable reports whether the redactor hides s (events.SecretParts skips
// blank text too).
func maskable(s string) bool {
	return len(s) >= MinMasked && strings.TrimSpace(s) != ""
}

// walkLeaves calls f with each known primitive leaf of v (elements of lists,
// sets, tuples, maps and objects, all the way down) and its path. A map's
// keys are not leaves: they name the values.
func walkLeaves(v cty.Value, path cty.Path, f func(cty.Path, cty.Value)) {
	if v.IsNull() || !v.IsKnown() {
		return
	}
	ty := v.Type()
	switch {
	case ty.IsPrimitiveType():
		f(path, v)
	case ty.IsSetType():
		// A set's element is its own key: its path is its position.
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			walkLeaves(e, path.Copy().Index(cty.NumberIntVal(int64(i))), f)
		}
	case ty.IsObjectType():
		for name := range ty.AttributeTypes() {
			walkLeaves(v.GetAttr(name), path.Copy().GetAttr(name), f)
		}
	case v.CanIterateElements():
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			walkLeaves(e, path.Copy().Index(k), f)
		}
	}
}

// leafTexts is a string or number leaf as the text to mask. A number has
// the decimal form that string conversion, templates, command arguments,
// environment variables and JSON give it (48213, 0.5); a command printing
// it differently (48213.0, 048213) still prints that text. Go's shortest
// float form is added where it differs (1e+21), as fmt prints a decoded
// JSON number. A bool has none: masking every "true" would hide nothing.
func leafTexts(v cty.Value) []string {
	switch v.Type() {
	case cty.String:
		return []string{v.AsString()}
	case cty.Number:
		bf := v.AsBigFloat()
		texts := []string{bf.Text('f', -1)}
		if f, acc := bf.Float64(); acc == big.Exact {
			if g := strconv.FormatFloat(f, 'g', -1, 64); g != texts[0] {
				texts = append(texts, g)
			}
		}
		return texts
	}
	return nil
}

// shortSecrets warns about each leaf of a sensitive variable's value that
// the redactor cannot hide: a bool, or text under MinMasked characters (an
// empty string has nothing to hide). The warning names the leaf, never its
// value or length.
func shortSecrets(v *config.Variable, val cty.Value, subject *hcl.Range) hcl.Diagnostics {
	if !v.Sensitive {
		return nil
	}
	val, _ = val.UnmarkDeep()
	var diags hcl.Diagnostics
	walkLeaves(val, nil, func(p cty.Path, leaf cty.Value) {
		what := "its value"
		if len(p) > 0 {
			what = pathText(append(cty.GetAttrPath("var").GetAttr(v.Name), p...))
		}
		texts := leafTexts(leaf)
		switch {
		case leaf.Type() == cty.Bool:
			what += " is a bool"
		case len(texts) == 0 || texts[0] == "" || maskable(texts[0]):
			return
		case strings.TrimSpace(texts[0]) == "":
			what += " is blank"
		default:
			what += fmt.Sprintf(" is shorter than %d characters", MinMasked)
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning, Summary: "Sensitive value too short to mask",
			Detail: fmt.Sprintf("Variable %q is sensitive, but %s. Expressions keep it hidden (a plan or an output that "+
				"reads it shows it masked), but cutover cannot mask it in text: what a command prints, a server's answer, "+
				"an error that quotes it. Masking every occurrence of so short a text would garble the output.", v.Name, what),
			Subject: subject,
		})
	})
	return diags
}

// Secrets returns the values of the sensitive variables, for CI masking.
func (p *Program) Secrets() []string { return secretsOf(p.Vars) }

// Redactor hides the program's sensitive values.
func (p *Program) Redactor() events.Redactor { return events.NewRedactor(p.Secrets()) }
