package callout

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Redact is the URL raw as it may appear in output: the scheme, host and
// path say which endpoint was called; the user part (user name too, not
// only the password), the query string (signed URLs, ?token=…, and a bare
// ?<token> whose key is the secret) and the fragment are never shown. The
// query is replaced whole by "…" rather than value by value: a key can be
// the secret, and the strictest rule is the one every caller applies.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return RedactURL(u)
}

// RedactURL is Redact for a parsed URL; u is not modified.
func RedactURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" || c.ForceQuery {
		c.RawQuery, c.ForceQuery = "…", false
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// ErrorText is err's message for output, from a call to raw (a URL) that
// the caller names itself, redacted, beside the message. It is the one way
// an error of a call out reaches output.
//
// net/http wraps its errors in a *url.Error quoting the URL of the failed
// hop, masking only the password (the user name and the query stay). When
// that hop is raw the wrapper is dropped, as the caller names it already;
// when it is another (a redirect target the pipeline never named, an API
// path below a server's address) it is kept, redacted. Any copy of raw
// elsewhere in the message is redacted too.
func ErrorText(err error, raw string) string {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		inner := ErrorText(ue.Err, raw)
		if Redact(ue.URL) != Redact(raw) {
			inner = fmt.Sprintf("%s %q: %s", ue.Op, Redact(ue.URL), inner)
		}
		msg = strings.ReplaceAll(msg, ue.Error(), inner)
	}
	if raw != "" {
		msg = strings.ReplaceAll(msg, raw, Redact(raw))
	}
	return msg
}
