package local

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxResponseBody bounds what the http step reads of a response: the first
// maxOutput bytes are kept (the output), the rest up to here only counted.
// A server that sends more, or never stops, fails the step instead of
// holding it until the timeout or filling memory.
const maxResponseBody = 10 << 20

// maxRedirects is net/http's own limit, which a CheckRedirect replaces.
const maxRedirects = 10

// credentialHeaders are always dropped on a redirect to another origin,
// whatever the user set.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Cookie2"}

// origin is scheme://host:port, the unit a credential is meant for. net/http
// only compares host names (and lets credentials through to subdomains and
// other ports); a token for one service must not reach another on the same
// machine.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// downgradeError is a redirect from https to plain http, which is refused:
// the request, and whatever it carries, would cross the network in clear.
type downgradeError struct{ from, to *url.URL }

func (e *downgradeError) Error() string {
	return fmt.Sprintf("the server redirected to %s, from https to plain http; a redirect that drops TLS is not followed (point url at the final address)",
		redactURL(e.to.String()))
}

// redirectPolicy follows redirects as net/http does, except that it refuses
// an https → http downgrade and, once a hop leaves the origin of the first
// request, sends it without credentials: the Authorization, Cookie and
// Proxy-Authorization headers, the headers the pipeline set (an X-Api-Key
// is as secret as an Authorization), and a user:password in the URL.
func redirectPolicy(userHeaders []string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		first, prev := via[0], via[len(via)-1]
		if req.URL.Scheme == "http" && (prev.URL.Scheme == "https" || first.URL.Scheme == "https") {
			return &downgradeError{from: prev.URL, to: req.URL}
		}
		if origin(req.URL) != origin(first.URL) {
			for _, h := range credentialHeaders {
				req.Header.Del(h)
			}
			for _, h := range userHeaders {
				req.Header.Del(h)
			}
			req.URL.User = nil
		}
		return nil
	}
}

// errBodyTooLarge says a response went past maxResponseBody.
var errBodyTooLarge = errors.New("the response body is larger than 10 MiB, the most cutover reads")

// readBody copies at most maxResponseBody bytes of r into buf.
func readBody(buf *capBuffer, r io.Reader) error {
	if _, err := io.Copy(buf, io.LimitReader(r, maxResponseBody+1)); err != nil {
		return err
	}
	if buf.total > maxResponseBody {
		return errBodyTooLarge
	}
	return nil
}
