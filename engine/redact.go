package engine

import (
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/events"
)

// Redacted replaces a secret wherever it appears in output.
const Redacted = "(sensitive value)"

// Redactor hides the values of sensitive variables in text. Marks protect
// values inside expressions; this catches the copies that leave them, such
// as a command's output or an error message that quotes a header.
type Redactor struct {
	secrets []string // longest first, so a secret containing another is hidden whole
	r       *strings.Replacer
}

// NewRedactor collects every string leaf of the values marked Sensitive.
func NewRedactor(vals map[string]cty.Value) *Redactor {
	var secrets []string
	for _, v := range vals {
		if !v.HasMark(Sensitive) && !v.ContainsMarked() {
			continue
		}
		v, _ = v.UnmarkDeep()
		collectStrings(v, &secrets)
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	var pairs []string
	for _, s := range secrets {
		pairs = append(pairs, s, Redacted)
	}
	return &Redactor{secrets: secrets, r: strings.NewReplacer(pairs...)}
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

// Secrets returns the values being hidden, for CI masking commands.
func (r *Redactor) Secrets() []string { return append([]string(nil), r.secrets...) }

// String redacts s.
func (r *Redactor) String(s string) string {
	if r == nil || len(r.secrets) == 0 {
		return s
	}
	return r.r.Replace(s)
}

// Bytes redacts JSON or text bytes.
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil || len(r.secrets) == 0 || len(b) == 0 {
		return b
	}
	return []byte(r.r.Replace(string(b)))
}

// Sink wraps s so every event is redacted before it is rendered.
func (r *Redactor) Sink(s events.Sink) events.Sink {
	return events.SinkFunc(func(e events.Event) {
		e.Message = r.String(e.Message)
		e.Error = r.String(e.Error)
		e.Output = r.Bytes(e.Output)
		e.Outputs = r.Bytes(e.Outputs)
		if e.Diagnostic != nil {
			d := *e.Diagnostic
			d.Detail = r.String(d.Detail)
			d.Summary = r.String(d.Summary)
			e.Diagnostic = &d
		}
		s.Emit(e)
	})
}
