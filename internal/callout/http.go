package callout

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxResponseBody bounds what any caller reads of a response: a server that
// sends more, or never stops, fails the read with ErrBodyTooLarge instead of
// holding the caller until its timeout or filling memory. Callers keep less
// (see Buffer); this is the bound on what is read at all.
const MaxResponseBody = 10 << 20

// maxRedirects is net/http's own limit, which a CheckRedirect replaces.
const maxRedirects = 10

// credentialHeaders are always dropped on a redirect to another origin,
// whatever the caller set.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Cookie2"}

// ClientOptions configures NewClient.
type ClientOptions struct {
	// Timeout bounds a whole exchange, redirects and body included; 0 means
	// the caller's context alone bounds it.
	Timeout time.Duration
	// Insecure skips TLS verification, when a pipeline asks for it. It is
	// set on a transport of this client only, never a shared one.
	Insecure bool
	// Transport is the transport to clone; nil means http.DefaultTransport
	// (proxies from the environment honoured, as curl does). Tests pass
	// one that trusts their TLS server.
	Transport *http.Transport
	// NoRedirects returns a redirect response as it is instead of following
	// it: an analysis measures the service, not a target it cannot name.
	NoRedirects bool
	// NewConnections opens a connection per request, as curl in a loop
	// does: a Service balances connections, so a kept-alive one stays on
	// the pod it first reached.
	NewConnections bool
	// Secret names the headers the caller sets on its requests itself; like
	// Authorization and Cookie they are dropped on a hop to another origin
	// (an X-Api-Key is as secret as an Authorization).
	Secret []string
	// Headers are added by the transport to every request for the origin of
	// Base, and to no other: a client driven by a library (the Prometheus
	// API client) cannot set them per request.
	Headers map[string]string
	Base    *url.URL
	// BodyLimit overrides MaxResponseBody, for tests.
	BodyLimit int64
}

// NewClient returns the client every outgoing request uses: a fresh
// transport, response bodies bounded, and a redirect policy that refuses an
// https → http downgrade and carries no credential to another origin.
func NewClient(o ClientOptions) *http.Client {
	base := o.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	tr := base.Clone()
	tr.DisableKeepAlives = o.NewConnections
	if o.Insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by the pipeline
	}
	limit := o.BodyLimit
	if limit <= 0 {
		limit = MaxResponseBody
	}
	var rt http.RoundTripper = cappedTransport{next: tr, limit: limit}
	secret := append([]string(nil), o.Secret...)
	if len(o.Headers) > 0 && o.Base != nil {
		rt = headerTransport{headers: o.Headers, origin: Origin(o.Base), next: rt}
		for k := range o.Headers {
			secret = append(secret, k)
		}
	}
	c := &http.Client{Transport: rt, Timeout: o.Timeout, CheckRedirect: redirectPolicy(secret)}
	if o.NoRedirects {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// Origin is scheme://host:port, the unit a credential is meant for. net/http
// only compares host names when deciding what to forward on a redirect (and
// lets credentials through to subdomains and other ports), and forwards
// custom headers everywhere; a token for one service must not reach another
// on the same machine.
func Origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// DowngradeError is a redirect from https to plain http, which is refused:
// the request, and whatever it carries, would cross the network in clear.
type DowngradeError struct{ From, To *url.URL }

func (e *DowngradeError) Error() string {
	return fmt.Sprintf("the server redirected to %s, from https to plain http; a redirect that drops TLS is not followed (use the final address instead)",
		RedactURL(e.To))
}

// redirectPolicy follows redirects as net/http does, except that it refuses
// an https → http downgrade and, once a hop leaves the origin of the first
// request, sends it without credentials: credentialHeaders, the secret
// headers, and a user:password in the URL.
func redirectPolicy(secret []string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		first, prev := via[0], via[len(via)-1]
		if req.URL.Scheme == "http" && (prev.URL.Scheme == "https" || first.URL.Scheme == "https") {
			return &DowngradeError{From: prev.URL, To: req.URL}
		}
		if Origin(req.URL) != Origin(first.URL) {
			for _, h := range credentialHeaders {
				req.Header.Del(h)
			}
			for _, h := range secret {
				req.Header.Del(h)
			}
			req.URL.User = nil
		}
		return nil
	}
}

// headerTransport adds fixed headers (credentials) to every request to the
// configured origin. A transport sees each redirect hop as a new request,
// so it checks the origin itself: adding them to every request would hand
// them to wherever the server redirects.
type headerTransport struct {
	headers map[string]string
	origin  string
	next    http.RoundTripper
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if Origin(r.URL) != t.origin {
		return t.next.RoundTrip(r)
	}
	r = r.Clone(r.Context()) // a RoundTripper must not modify its request
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	return t.next.RoundTrip(r)
}

// ErrBodyTooLarge is what reading a response body past the bound returns
// (matched with errors.Is; the error itself names the bound).
var ErrBodyTooLarge = errors.New("response body too large")

type bodyTooLarge struct{ limit int64 }

func (e bodyTooLarge) Error() string {
	size := fmt.Sprintf("%d bytes", e.limit)
	if e.limit >= 1<<20 && e.limit%(1<<20) == 0 {
		size = fmt.Sprintf("%d MiB", e.limit>>20)
	}
	return "the response body is larger than " + size + ", the most cutover reads"
}

func (e bodyTooLarge) Is(target error) bool { return target == ErrBodyTooLarge }

// cappedTransport bounds every body at the transport, so a client that
// reads whole bodies itself (the Prometheus API client) is bounded too.
type cappedTransport struct {
	next  http.RoundTripper
	limit int64
}

func (t cappedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.Body != nil {
		resp.Body = CapBody(resp.Body, t.limit)
	}
	return resp, err
}

// CapBody fails a read of rc past limit bytes with ErrBodyTooLarge; what
// comes before the limit reads as usual.
func CapBody(rc io.ReadCloser, limit int64) io.ReadCloser {
	return &cappedBody{rc: rc, limit: limit}
}

type cappedBody struct {
	rc          io.ReadCloser
	read, limit int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.read > b.limit {
		return 0, bodyTooLarge{b.limit}
	}
	// One byte past the limit is enough to know.
	if room := b.limit + 1 - b.read; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		return n - int(b.read-b.limit), bodyTooLarge{b.limit}
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// RetryableStatus says whether a response status means "try again later"
// (5xx, 429, 408); any other status will not change by retrying.
func RetryableStatus(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}
