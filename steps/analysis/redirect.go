package analysis

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxResponseBody bounds a response body read by a client we do not drive
// ourselves (the Prometheus client reads whole bodies): past it the read
// fails, rather than a runaway or hostile server filling memory.
const maxResponseBody = 10 << 20

// origin is scheme://host:port, the unit a credential is meant for. net/http
// compares host names only when deciding what to forward on a redirect, and
// forwards custom headers everywhere.
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

// credentialHeaders are dropped on a redirect to another origin, besides the
// headers the pipeline set itself.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Cookie2"}

// redirectPolicy follows redirects as net/http does, but refuses an https →
// http downgrade and sends a hop that leaves the first request's origin
// without credentials (see credentialHeaders, userHeaders, and a
// user:password in the URL).
func redirectPolicy(userHeaders []string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return fmt.Errorf("stopped after %d redirects", len(via))
		}
		first, prev := via[0], via[len(via)-1]
		if req.URL.Scheme == "http" && (prev.URL.Scheme == "https" || first.URL.Scheme == "https") {
			return fmt.Errorf("redirected to %s, from https to plain http; a redirect that drops TLS is not followed (point the address at the final location)",
				safeURL(req.URL))
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

// cappedTransport fails the read of any body past limit bytes.
type cappedTransport struct {
	next  http.RoundTripper
	limit int64
}

func (t cappedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.Body != nil {
		resp.Body = &cappedBody{rc: resp.Body, limit: t.limit}
	}
	return resp, err
}

type cappedBody struct {
	rc          io.ReadCloser
	read, limit int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.read > b.limit {
		return 0, b.tooLarge()
	}
	// One byte past the limit is enough to know.
	if room := b.limit + 1 - b.read; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		return n - int(b.read-b.limit), b.tooLarge()
	}
	return n, err
}

func (b *cappedBody) tooLarge() error {
	return fmt.Errorf("the response body is larger than %d MiB, the most cutover reads", b.limit>>20)
}

func (b *cappedBody) Close() error { return b.rc.Close() }
