package engine

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/events"
)

// secretsOf collects every string leaf of the values marked Sensitive, for
// the redactor: marks protect values inside expressions, the redactor the
// copies that leave them (a command's output, an error quoting a header).
func secretsOf(vals map[string]cty.Value) []string {
	var secrets []string
	for _, v := range vals {
		if !v.HasMark(Sensitive) && !v.ContainsMarked() {
			continue
		}
		v, _ = v.UnmarkDeep()
		collectStrings(v, &secrets)
	}
	return secrets
}

func collectStrings(v cty.Value, out *[]string) {
	if v.IsNull() || !v.IsKnown() {
		return
	}
	switch {
	case v.Type() == cty.String:
		// Very short secrets would turn ordinary words into noise; they are
		// still protected by marks inside expressions.
		if s := v.AsString(); len(s) >= 3 {
			*out = append(*out, s)
		}
	case v.Type().IsPrimitiveType():
		return
	case v.CanIterateElements():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			collectStrings(e, out)
		}
	}
}

// Secrets returns the values of the sensitive variables, for CI masking.
func (p *Program) Secrets() []string { return secretsOf(p.Vars) }

// Redactor hides the program's sensitive values.
func (p *Program) Redactor() events.Redactor { return events.NewRedactor(p.Secrets()) }
