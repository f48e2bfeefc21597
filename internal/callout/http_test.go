package callout

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/internal/callout/callouttest"
)

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

var secrets = callouttest.Credentials

// TestRedirectToAnotherOrigin: both servers are on 127.0.0.1, on different
// ports; net/http alone forwards Authorization there (it compares host
// names only) and custom headers anywhere.
func TestRedirectToAnotherOrigin(t *testing.T) {
	other := callouttest.NewRecorder(t, nil)
	first := httptest.NewServer(callouttest.Redirect(other.URL + "/elsewhere"))
	defer first.Close()
	base, _ := url.Parse(first.URL)
	for name, c := range map[string]*http.Client{
		"headers set per request":  NewClient(ClientOptions{Secret: []string{"X-Api-Key"}}),
		"headers by the transport": NewClient(ClientOptions{Headers: secrets, Base: base}),
	} {
		t.Run(name, func(t *testing.T) {
			before := len(other.Requests())
			body, err := get(t, c, strings.Replace(first.URL, "http://", "http://user:pa55@", 1)+"/start", secrets)
			if err != nil || body != "landed" {
				t.Fatalf("body %q, err %v; the redirect was not followed", body, err)
			}
			reqs := other.Requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d requests reached the other origin", len(reqs))
			}
			callouttest.AssertNoCredentials(t, reqs)
		})
	}
}

func TestRedirectOnSameOriginKeepsCredentials(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/start", callouttest.Redirect("/end"))
	mux.Handle("/end", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "landed") }))
	srv := callouttest.NewRecorder(t, mux)
	base, _ := url.Parse(srv.URL)
	for name, c := range map[string]*http.Client{
		"headers set per request":  NewClient(ClientOptions{Secret: []string{"X-Api-Key"}}),
		"headers by the transport": NewClient(ClientOptions{Headers: secrets, Base: base}),
	} {
		t.Run(name, func(t *testing.T) {
			before := len(srv.Requests())
			if _, err := get(t, c, srv.URL+"/start", secrets); err != nil {
				t.Fatal(err)
			}
			reqs := srv.Requests()[before:]
			if len(reqs) != 2 {
				t.Fatalf("%d requests; want /start and /end", len(reqs))
			}
			for h, v := range secrets {
				if got := reqs[1].Get(h); got != v {
					t.Errorf("%s = %q after a same-origin redirect; want %q", h, got, v)
				}
			}
		})
	}
}

func TestHeadersOnlyForTheConfiguredOrigin(t *testing.T) {
	srv := callouttest.NewRecorder(t, nil)
	elsewhere, _ := url.Parse("http://prometheus.example:9090")
	c := NewClient(ClientOptions{Headers: secrets, Base: elsewhere})
	if _, err := get(t, c, srv.URL, nil); err != nil {
		t.Fatal(err)
	}
	if h := srv.Requests()[0]; h.Get("Authorization") != "" {
		t.Errorf("a request to another origin carried the headers: %v", h)
	}
}

func TestRedirectFromHTTPSToHTTPRefused(t *testing.T) {
	plain := callouttest.NewRecorder(t, nil)
	tlsSrv := httptest.NewTLSServer(callouttest.Redirect(plain.URL + "/clear?token=abc"))
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
	if n := len(plain.Requests()); n != 0 {
		t.Errorf("%d requests were sent in clear", n)
	}
}

func TestBodyTooLarge(t *testing.T) {
	srv := httptest.NewServer(callouttest.Endless(""))
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
