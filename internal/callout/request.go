package callout

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// UserAgent names cutover to the servers it calls, unless a pipeline sets
// its own User-Agent header.
const UserAgent = "cutover"

// Request is one HTTP request as a pipeline writes it: the http step, the
// http and probe analysis providers.
type Request struct {
	Method string
	// URL is the address as written; messages show Redact(URL).
	URL string
	// Headers are sent as given, never shown: their values may be
	// credentials. A "Host" header sets the request's Host (net/http
	// ignores it as a header).
	Headers map[string]string
	// Body is nil for no body (a GET sends none), as opposed to an empty
	// one.
	Body *string
}

// Build returns the request, bound to ctx. An error names the URL
// redacted, never as written.
func (r Request) Build(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if r.Body != nil {
		body = strings.NewReader(*r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, fmt.Errorf("invalid request: %s", ErrorText(err, r.URL))
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, "host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", UserAgent)
	}
	return req, nil
}

// Secret names the headers the request sets, for ClientOptions.Secret:
// whatever they hold stays with the request's origin on a redirect.
func (r Request) Secret() []string {
	names := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		names = append(names, k)
	}
	return names
}

// CheckURL says what is wrong with raw as the address of a request, nil
// when it is an absolute http or https URL; the message shows it redacted.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%s is not a URL: %s", Redact(raw), ErrorText(err, raw))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%s must start with http:// or https://", Redact(raw))
	case u.Host == "":
		return fmt.Errorf("%s has no host", Redact(raw))
	}
	return nil
}
