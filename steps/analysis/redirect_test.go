package analysis

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// fakeProm answers every query with the scalar 1 and keeps the headers of
// each request.
type fakeProm struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newFakeProm(t *testing.T, route ...func(http.Handler) http.Handler) *fakeProm {
	f := &fakeProm{}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, r.Header.Clone())
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}`)
	})
	for _, r := range route {
		h = r(h)
	}
	f.Server = httptest.NewServer(h)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeProm) requests() []http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]http.Header(nil), f.seen...)
}

// redirectTo sends every request on to target, same path and query; 307
// keeps the method and body of the client's POST.
func redirectTo(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
}

func promWithHeaders(t *testing.T, address string) *prometheusProvider {
	t.Helper()
	p, err := newPrometheus(cty.ObjectVal(map[string]cty.Value{
		"address": cty.StringVal(address),
		"query":   cty.StringVal("up"),
		"headers": cty.MapVal(map[string]cty.Value{
			"Authorization": cty.StringVal("Bearer s3cret"),
			"X-Scope-OrgID": cty.StringVal("tenant-1"),
		}),
	}))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrometheusRedirectToAnotherOrigin: the headers were added by the
// transport on every hop, so a redirect handed them to any server. Both
// servers are on 127.0.0.1, on different ports.
func TestPrometheusRedirectToAnotherOrigin(t *testing.T) {
	other := newFakeProm(t)
	first := httptest.NewServer(redirectTo(other.URL))
	defer first.Close()
	_, short, err := promWithHeaders(t, first.URL).Measure(context.Background())
	if err != nil || short != "1" {
		t.Fatalf("measure = %q, %v; the redirect was not followed", short, err)
	}
	reqs := other.requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the other origin")
	}
	for _, h := range reqs {
		for _, name := range []string{"Authorization", "X-Scope-Orgid"} {
			if v := h.Get(name); v != "" {
				t.Errorf("the other origin received %s: %q", name, v)
			}
		}
	}
}

func TestPrometheusRedirectOnSameOrigin(t *testing.T) {
	srv := newFakeProm(t, func(api http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/old/", http.StripPrefix("/old", redirectTo("")))
		mux.Handle("/", api)
		return mux
	})
	_, short, err := promWithHeaders(t, srv.URL+"/old").Measure(context.Background())
	if err != nil || short != "1" {
		t.Fatalf("measure = %q, %v", short, err)
	}
	reqs := srv.requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the API")
	}
	for _, h := range reqs {
		if h.Get("Authorization") != "Bearer s3cret" || h.Get("X-Scope-OrgID") != "tenant-1" {
			t.Errorf("headers after a same-origin redirect: %v", h)
		}
	}
}

func TestPrometheusRedirectFromHTTPSToHTTPRefused(t *testing.T) {
	plain := newFakeProm(t)
	tlsSrv := httptest.NewTLSServer(redirectTo(plain.URL))
	defer tlsSrv.Close()
	base, _ := url.Parse(tlsSrv.URL)
	// The test server's certificate is trusted through its own transport;
	// the client is otherwise the one newPrometheus builds.
	tr := tlsSrv.Client().Transport.(*http.Transport).Clone()
	client := promHTTPClient(base, map[string]string{"Authorization": "Bearer s3cret"}, tr)
	resp, err := client.Get(tlsSrv.URL + "/api/v1/query?query=up")
	if err == nil {
		resp.Body.Close()
		t.Fatal("the downgrade was followed")
	}
	if !strings.Contains(err.Error(), "from https to plain http") {
		t.Errorf("err = %v", err)
	}
	if n := len(plain.requests()); n != 0 {
		t.Errorf("%d requests were sent in clear", n)
	}
}

// TestPrometheusBodyCapped: the API client reads a whole body; past
// maxResponseBody the read fails and the measurement says why.
func TestPrometheusBodyCapped(t *testing.T) {
	chunk := []byte(strings.Repeat(" ", 64<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}`)
		for {
			if _, err := w.Write(chunk); err != nil {
				return // the client hung up
			}
		}
	}))
	defer srv.Close()
	p, err := newPrometheus(cty.ObjectVal(map[string]cty.Value{"address": cty.StringVal(srv.URL), "query": cty.StringVal("up")}))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Measure(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than 10 MiB") {
		t.Fatalf("err = %v; want the body bound named", err)
	}
}
