package callout

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// recorder answers 200 "landed" and keeps the headers of each request.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newRecorder(t *testing.T, route func(http.Handler) http.Handler) *recorder {
	r := &recorder{}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Header.Clone())
		r.mu.Unlock()
		io.WriteString(w, "landed")
	})
	if route != nil {
		h = route(h)
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

func redirectTo(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	})
}

func get(t *testing.T, c *http.Client, raw string, headers map[string]string) (string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

var secrets = map[string]string{"Authorization": "Bearer s3cret", "X-Api-Key": "k3y", "Cookie": "session=c00kie"}

// TestRedirectToAnotherOrigin: both servers are on 127.0.0.1, on different
// ports; net/http alone forwards Authorization there (it compares host
// names only) and custom headers anywhere.
func TestRedirectToAnotherOrigin(t *testing.T) {
	other := newRecorder(t, nil)
	first := httptest.NewServer(redirectTo(other.URL + "/elsewhere"))
	defer first.Close()
	base, _ := url.Parse(first.URL)
	for name, c := range map[string]*http.Client{
		"headers set per request":  NewClient(ClientOptions{Secret: []string{"X-Api-Key"}}),
		"headers by the transport": NewClient(ClientOptions{Headers: secrets, Base: base}),
	} {
		t.Run(name, func(t *testing.T) {
			before := len(other.requests())
			body, err := get(t, c, strings.Replace(first.URL, "http://", "http://user:pa55@", 1)+"/start", secrets)
			if err != nil || body != "landed" {
				t.Fatalf("body %q, err %v; the redirect was not followed", body, err)
			}
			reqs := other.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d requests reached the other origin", len(reqs))
			}
			for _, h := range []string{"Authorization", "X-Api-Key", "Cookie", "Proxy-Authorization"} {
				if v := reqs[0].Get(h); v != "" {
					t.Errorf("the other origin received %s: %q", h, v)
				}
			}
		})
	}
}

func TestRedirectOnSameOriginKeepsCredentials(t *testing.T) {
	srv := newRecorder(t, func(rec http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/start", redirectTo("/end"))
		mux.Handle("/end", rec)
		return mux
	})
	base, _ := url.Parse(srv.URL)
	for name, c := range map[string]*http.Client{
		"headers set per request":  NewClient(ClientOptions{Secret: []string{"X-Api-Key"}}),
		"headers by the transport": NewClient(ClientOptions{Headers: secrets, Base: base}),
	} {
		t.Run(name, func(t *testing.T) {
			before := len(srv.requests())
			if _, err := get(t, c, srv.URL+"/start", secrets); err != nil {
				t.Fatal(err)
			}
			reqs := srv.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d requests reached /end", len(reqs))
			}
			for h, v := range secrets {
				if got := reqs[0].Get(h); got != v {
					t.Errorf("%s = %q after a same-origin redirect; want %q", h, got, v)
				}
			}
		})
	}
}

func TestHeadersOnlyForTheConfiguredOrigin(t *testing.T) {
	srv := newRecorder(t, nil)
	elsewhere, _ := url.Parse("http://prometheus.example:9090")
	c := NewClient(ClientOptions{Headers: secrets, Base: elsewhere})
	if _, err := get(t, c, srv.URL, nil); err != nil {
		t.Fatal(err)
	}
	if h := srv.requests()[0]; h.Get("Authorization") != "" {
		t.Errorf("a request to another origin carried the headers: %v", h)
	}
}

func TestRedirectFromHTTPSToHTTPRefused(t *testing.T) {
	plain := newRecorder(t, nil)
	tlsSrv := httptest.NewTLSServer(redirectTo(plain.URL + "/clear?token=abc"))
	defer tlsSrv.Close()
	c := NewClient(ClientOptions{Transport: tlsSrv.Client().Transport.(*http.Transport)})
	_, err := get(t, c, tlsSrv.URL+"/start", secrets)
	var down *DowngradeError
	if !errors.As(err, &down) {
		t.Fatalf("err = %v; want the downgrade refused", err)
	}
	if msg := down.Error(); !strings.Contains(msg, "from https to plain http") || !strings.Contains(msg, plain.URL+"/clear?…") {
		t.Errorf("err = %q; want the downgrade and its redacted target named", msg)
	}
	if n := len(plain.requests()); n != 0 {
		t.Errorf("%d requests were sent in clear", n)
	}
}

func TestBodyTooLarge(t *testing.T) {
	chunk := []byte(strings.Repeat("x", 64<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for {
			if _, err := w.Write(chunk); err != nil {
				return // the client hung up
			}
		}
	}))
	defer srv.Close()
	_, err := get(t, NewClient(ClientOptions{}), srv.URL, nil)
	if !errors.Is(err, ErrBodyTooLarge) || !strings.Contains(err.Error(), "larger than 10 MiB") {
		t.Fatalf("err = %v; want the body bound named", err)
	}
}

func TestCapBody(t *testing.T) {
	for _, tc := range []struct {
		size int
		fail bool
	}{{99, false}, {100, false}, {101, true}, {10000, true}} {
		b := CapBody(io.NopCloser(strings.NewReader(strings.Repeat("x", tc.size))), 100)
		got, err := io.ReadAll(b)
		if tc.fail != errors.Is(err, ErrBodyTooLarge) || len(got) > 100 {
			t.Errorf("%d bytes: read %d, err %v", tc.size, len(got), err)
		}
		if tc.fail && !strings.Contains(err.Error(), "larger than 100 bytes") {
			t.Errorf("err = %v", err)
		}
	}
}
