package events

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// Mask replaces a secret wherever it would be printed.
const Mask = "***"

// Redactor removes sensitive values from text and events. The engine marks
// sensitive values inside expressions; a Redactor catches the copies that
// leave them: a server's reply or a command's stderr quoting a token. A leak
// in a CI log cannot be taken back, so every sink applies one too.
type Redactor struct {
	plain *strings.Replacer // for text
	raw   *strings.Replacer // for JSON documents: the escaped forms too
	none  bool
}

// SecretParts is every value to hide: each secret, and each line of a
// multi-line secret (a PEM key is printed one line at a time by many tools,
// and GitHub masks log lines one at a time). Longest first, so a secret that
// contains another is hidden whole.
func SecretParts(secrets []string) []string {
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
		// A value derived by encoding: a Secret's data, a basic-auth
		// header, a token an exec printed base64-encoded.
		if len(s) >= 4 {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
				add(enc.EncodeToString([]byte(s)))
			}
		}
		if strings.ContainsAny(s, "\r\n") {
			for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
				add(strings.TrimSpace(l))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// NewRedactor hides secrets.
func NewRedactor(secrets []string) Redactor {
	parts := SecretParts(secrets)
	if len(parts) == 0 {
		return Redactor{none: true}
	}
	var plain, raw []string
	for _, p := range parts {
		plain = append(plain, p, Mask)
		raw = append(raw, p, Mask)
		for _, esc := range jsonForms(p) {
			if esc != p {
				raw = append(raw, esc, Mask)
			}
		}
	}
	return Redactor{plain: strings.NewReplacer(plain...), raw: strings.NewReplacer(raw...)}
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

// String redacts text.
func (r Redactor) String(s string) string {
	if r.none || s == "" {
		return s
	}
	return r.plain.Replace(s)
}

// JSON redacts a JSON document, escaped forms included. A secret that
// is a bare token of the document (a sensitive number as a JSON number, or
// inside one) would leave it invalid once replaced: such a document is
// redacted value by value instead, each string, key and scalar whose text
// holds a secret becoming Mask.
func (r Redactor) JSON(b json.RawMessage) json.RawMessage {
	if r.none || len(b) == 0 {
		return b
	}
	out := r.raw.Replace(string(b))
	if out == string(b) || json.Valid([]byte(out)) || !json.Valid(b) {
		return json.RawMessage(out)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return json.RawMessage(out)
	}
	// Encoded as the events are (no HTML escaping), on one line.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(r.value(v)) != nil {
		return json.RawMessage(out)
	}
	return json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n"))
}

// value is a decoded JSON value with its secrets masked.
func (r Redactor) value(v any) any {
	switch v := v.(type) {
	case string:
		return r.String(v)
	case json.Number:
		if r.String(string(v)) != string(v) {
			return Mask
		}
	case bool:
		if s := strconv.FormatBool(v); r.String(s) != s {
			return Mask
		}
	case []any:
		for i, e := range v {
			v[i] = r.value(e)
		}
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[r.String(k)] = r.value(e)
		}
		return m
	}
	return v
}

// Event returns e with every text field redacted.
func (r Redactor) Event(e Event) Event {
	if r.none {
		return e
	}
	e.Message, e.Error = r.String(e.Message), r.String(e.Error)
	e.Output, e.Outputs = r.JSON(e.Output), r.JSON(e.Outputs)
	if e.Diagnostic != nil {
		d := *e.Diagnostic
		d.Summary, d.Detail = r.String(d.Summary), r.String(d.Detail)
		e.Diagnostic = &d
	}
	if len(e.UndoPending) > 0 {
		p := make([]string, len(e.UndoPending))
		for i, s := range e.UndoPending {
			p[i] = r.String(s)
		}
		e.UndoPending = p
	}
	return e
}

// Redact wraps s so that every event reaches it with the secrets replaced by
// Mask.
func Redact(secrets []string, s Sink) Sink {
	r := NewRedactor(secrets)
	if r.none {
		return s
	}
	return &redacted{r: r, next: s}
}

type redacted struct {
	r    Redactor
	next Sink
}

func (x *redacted) Emit(e Event) { x.next.Emit(x.r.Event(e)) }

// Unwrap returns the wrapped sink, so closing the chain reaches it.
func (x *redacted) Unwrap() Sink { return x.next }
