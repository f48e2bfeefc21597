package report

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/cutoverhq/cutover/events"
)

// mask replaces a secret wherever it would be printed.
const mask = "***"

// redactor removes sensitive values from everything a sink writes. The engine
// already redacts events; this is the second line of defence, because a
// secret can reach an error message through a server's reply or a command's
// stderr, and a leak in a CI log cannot be taken back.
type redactor struct {
	plain *strings.Replacer // for text
	raw   *strings.Replacer // for JSON documents: the escaped forms too
	none  bool
}

// secretParts is every value to hide: each secret, and each line of a
// multi-line secret (a PEM key is printed one line at a time by many tools,
// and GitHub masks log lines one at a time). Longest first, so a secret that
// contains another is hidden whole.
func secretParts(secrets []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if strings.TrimSpace(s) == "" || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, s)
	}
	for _, s := range secrets {
		add(s)
		if strings.ContainsAny(s, "\r\n") {
			for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
				add(strings.TrimSpace(l))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func newRedactor(secrets []string) redactor {
	parts := secretParts(secrets)
	if len(parts) == 0 {
		return redactor{none: true}
	}
	var plain, raw []string
	for _, p := range parts {
		plain = append(plain, p, mask)
		raw = append(raw, p, mask)
		for _, esc := range jsonForms(p) {
			if esc != p {
				raw = append(raw, esc, mask)
			}
		}
	}
	return redactor{plain: strings.NewReplacer(plain...), raw: strings.NewReplacer(raw...)}
}

// jsonForms is s as it appears inside a JSON string, with and without HTML
// escaping (encoders differ).
func jsonForms(s string) []string {
	var out []string
	for _, html := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		_ = enc.Encode(s)
		q := strings.TrimSpace(b.String())
		out = append(out, q[1:len(q)-1])
	}
	return out
}

func (r redactor) str(s string) string {
	if r.none || s == "" {
		return s
	}
	return r.plain.Replace(s)
}

func (r redactor) json(b json.RawMessage) json.RawMessage {
	if r.none || len(b) == 0 {
		return b
	}
	return json.RawMessage(r.raw.Replace(string(b)))
}

// event returns e with every text field redacted.
func (r redactor) event(e events.Event) events.Event {
	if r.none {
		return e
	}
	e.Message, e.Error = r.str(e.Message), r.str(e.Error)
	e.Output, e.Outputs = r.json(e.Output), r.json(e.Outputs)
	if e.Diagnostic != nil {
		d := *e.Diagnostic
		d.Summary, d.Detail = r.str(d.Summary), r.str(d.Detail)
		e.Diagnostic = &d
	}
	if len(e.UndoPending) > 0 {
		p := make([]string, len(e.UndoPending))
		for i, s := range e.UndoPending {
			p[i] = r.str(s)
		}
		e.UndoPending = p
	}
	return e
}

// Redact wraps s so that every event reaches it with the secrets replaced by
// "***". Use it around sinks that take no Options (JSON, JUnit, summary).
func Redact(secrets []string, s events.Sink) events.Sink {
	r := newRedactor(secrets)
	if r.none {
		return s
	}
	return &redacted{r: r, next: s}
}

type redacted struct {
	r    redactor
	next events.Sink
}

func (x *redacted) Emit(e events.Event) { x.next.Emit(x.r.event(e)) }

// Close closes the wrapped sink.
func (x *redacted) Close() error { return Close(x.next) }
