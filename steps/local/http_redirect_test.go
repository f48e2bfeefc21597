package local

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cutoverhq/cutover/steps"
)

// recorder is a server that answers 200 and keeps the credentials each
// request carried.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

// newRecorder serves the recorder alone, or what route makes of it.
func newRecorder(t *testing.T, route ...func(http.Handler) http.Handler) *recorder {
	r := &recorder{}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Header.Clone())
		r.mu.Unlock()
		w.Write([]byte("landed"))
	})
	for _, f := range route {
		h = f(h)
	}
	r.Server = httptest.NewServer(h)
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.seen...)
}

// redirector answers every request with a 302 to target.
func redirector(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusFound)
	})
}

const credentials = `
headers = {
  Authorization = "Bearer s3cret"
  X-Api-Key     = "k3y"
  Cookie        = "session=c00kie"
}`

var credentialNames = []string{"Authorization", "X-Api-Key", "Cookie"}

// TestHTTPRedirectToAnotherOriginDropsCredentials: both servers are on
// 127.0.0.1, on different ports. net/http alone would forward
// Authorization there (it compares host names only) and every custom
// header anywhere.
func TestHTTPRedirectToAnotherOriginDropsCredentials(t *testing.T) {
	other := newRecorder(t)
	first := httptest.NewServer(redirector(other.URL + "/elsewhere"))
	defer first.Close()
	for name, src := range map[string]string{
		"headers":        `url = "` + first.URL + `/start"` + credentials,
		"basic auth URL": `url = "` + strings.Replace(first.URL, "http://", "http://user:pa55@", 1) + `/start"`,
	} {
		t.Run(name, func(t *testing.T) {
			before := len(other.requests())
			out, err := run(t, context.Background(), httpKind{}, "", src)
			if err != nil {
				t.Fatal(err)
			}
			if getStr(t, out, "body") != "landed" {
				t.Fatalf("body = %q; the redirect was not followed", getStr(t, out, "body"))
			}
			reqs := other.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d requests reached the other origin", len(reqs))
			}
			for _, h := range append(credentialNames, "Proxy-Authorization") {
				if v := reqs[0].Get(h); v != "" {
					t.Errorf("the other origin received %s: %q", h, v)
				}
			}
		})
	}
}

func TestHTTPRedirectOnSameOriginKeepsCredentials(t *testing.T) {
	srv := newRecorder(t, func(rec http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/start", redirector("/end"))
		mux.Handle("/end", rec)
		return mux
	})
	if _, err := run(t, context.Background(), httpKind{}, "", `url = "`+srv.URL+`/start"`+credentials); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests reached /end", len(reqs))
	}
	want := map[string]string{"Authorization": "Bearer s3cret", "X-Api-Key": "k3y", "Cookie": "session=c00kie"}
	for h, v := range want {
		if got := reqs[0].Get(h); got != v {
			t.Errorf("%s = %q after a same-origin redirect; want %q", h, got, v)
		}
	}
}

func TestHTTPRedirectFromHTTPSToHTTPRefused(t *testing.T) {
	plain := newRecorder(t)
	tlsSrv := httptest.NewTLSServer(redirector(plain.URL + "/clear"))
	defer tlsSrv.Close()
	_, err := run(t, context.Background(), httpKind{}, "", `url = "`+tlsSrv.URL+`/start?token=abc"
insecure = true`+credentials)
	if err == nil {
		t.Fatal("the downgrade was followed")
	}
	msg := err.Error()
	if !strings.Contains(msg, "from https to plain http") || !strings.Contains(msg, plain.URL+"/clear") {
		t.Errorf("err = %q; want it to name the downgrade and its target", msg)
	}
	if strings.Contains(msg, "abc") {
		t.Errorf("err = %q shows the query's token", msg)
	}
	if steps.IsRetryable(err) {
		t.Error("a downgrade is retried; it will be there next time too")
	}
	if n := len(plain.requests()); n != 0 {
		t.Errorf("%d requests were sent in clear", n)
	}
}

func TestHTTPTooManyRedirects(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+r.URL.Path+"x", http.StatusFound)
	}))
	defer srv.Close()
	_, err := run(t, context.Background(), httpKind{}, "", `url = "`+srv.URL+`/"`)
	if err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") {
		t.Errorf("err = %v", err)
	}
}

// TestHTTPBodyLargerThanBound: a body past maxResponseBody fails the step
// with that said, whether it has an end or not.
func TestHTTPBodyLargerThanBound(t *testing.T) {
	chunk := []byte(strings.Repeat("x", 64<<10))
	for name, size := range map[string]int{"11 MiB": 11 << 20, "endless": -1} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for sent := 0; size < 0 || sent < size; sent += len(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return // the client hung up
					}
				}
			}))
			defer srv.Close()
			_, err := run(t, context.Background(), httpKind{}, "", `url = "`+srv.URL+`"`)
			if err == nil || !strings.Contains(err.Error(), "larger than 10 MiB") || !strings.Contains(err.Error(), "status 200") {
				t.Fatalf("err = %v; want the body bound named", err)
			}
			if steps.IsRetryable(err) {
				t.Error("an oversized body is retried")
			}
		})
	}
}
