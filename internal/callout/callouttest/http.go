package callouttest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Recorder is a test server that keeps the headers of each request, then
// answers with its handler (200 "landed" when none): the other end of a
// redirect, or a server that must receive the credentials or must not.
type Recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

// NewRecorder starts a Recorder answering with answer, closed when t ends.
func NewRecorder(t testing.TB, answer http.Handler) *Recorder {
	if answer == nil {
		answer = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "landed") })
	}
	r := &Recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Header.Clone())
		r.mu.Unlock()
		answer.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

// Requests are the headers of the requests received so far.
func (r *Recorder) Requests() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.seen...)
}

// Redirect answers every request with a 307 to target (which keeps the
// method and the body of a POST).
func Redirect(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	})
}

// Secret is in every credential the callers' tests send (Credentials,
// SecretURL): text that contains it showed one.
const Secret = "s3cret"

// Credentials are request headers holding secrets; callout treats every
// header a pipeline sets as one.
var Credentials = map[string]string{
	"Authorization": "Bearer h3ader-" + Secret,
	"X-Api-Key":     "k3y-" + Secret,
	"Cookie":        "session=c00kie-" + Secret,
}

// CredentialNames are Credentials' names, and Proxy-Authorization.
var CredentialNames = []string{"Authorization", "X-Api-Key", "Cookie", "Proxy-Authorization"}

// SecretURL is base ("http://host:port") and path with a user, a password,
// a query and a fragment, each holding Secret.
func SecretURL(base, path string) string {
	return strings.Replace(base, "://", "://deployer-"+Secret+":pa55-"+Secret+"@", 1) + path +
		"?token=qu3ry-" + Secret + "#frag-" + Secret
}

// ClosedURL is the base URL of a loopback port nothing listens on: a
// request there fails at once, with net/http's error quoting its URL.
func ClosedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// AssertHidden fails t when a text shows a secret.
func AssertHidden(t testing.TB, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, Secret) {
			t.Errorf("%s shows a credential: %s", what, s)
		}
	}
}

// Endless answers prefix and then spaces until the client hangs up: a body
// past any bound.
func Endless(prefix string) http.Handler {
	chunk := []byte(strings.Repeat(" ", 64<<10))
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, prefix)
		for {
			if _, err := w.Write(chunk); err != nil {
				return // the client hung up
			}
		}
	})
}

// AssertNoCredentials fails t when one of reqs carried a credential header
// (CredentialNames).
func AssertNoCredentials(t testing.TB, reqs []http.Header) {
	t.Helper()
	for _, h := range reqs {
		for _, name := range CredentialNames {
			if v := h.Get(name); v != "" {
				t.Errorf("%s %q was sent", name, v)
			}
		}
	}
}
