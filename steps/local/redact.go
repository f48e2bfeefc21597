package local

import (
	"net/url"
	"sort"
	"strings"
)

// redactURL is the URL as it may appear in output: credentials and query
// values often carry tokens (signed URLs, ?token=), so the user part goes
// and every query value is replaced; the scheme, host, path and query keys
// are kept to say which endpoint was called.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = url.QueryEscape(k) + "=REDACTED"
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// scrub replaces the raw URL inside an error message from net/http (which
// quotes it whole) by its redacted form.
func scrub(msg, raw, shown string) string {
	if raw == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, raw, shown)
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		// url.Error prints a URL with the password masked, which still
		// shows the user name; drop the whole user part.
		masked := u.Redacted()
		u.User = nil
		msg = strings.ReplaceAll(msg, masked, shown)
		if u.RawQuery != "" {
			msg = strings.ReplaceAll(msg, u.String(), shown)
		}
	}
	return msg
}
