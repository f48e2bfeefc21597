package local

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/steps"
)

func TestHTTPGetJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Version", "v2")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status": "UP", "instances": 3}`)
	}))
	defer srv.Close()
	out, err := run(t, context.Background(), httpKind{}, "", `url = "`+srv.URL+`/healthz"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := getInt(t, out, "status"); got != 200 {
		t.Errorf("status = %d", got)
	}
	if got := out.GetAttr("json").GetAttr("status").AsString(); got != "UP" {
		t.Errorf("json.status = %q", got)
	}
	if !out.GetAttr("json").GetAttr("instances").RawEquals(cty.NumberIntVal(3)) {
		t.Errorf("json.instances = %#v", out.GetAttr("json").GetAttr("instances"))
	}
	if got := out.GetAttr("headers").Index(cty.StringVal("x-version")).AsString(); got != "v2" {
		t.Errorf("headers[x-version] = %q", got)
	}
}

func TestHTTPPostSendsMethodHeadersBody(t *testing.T) {
	type seen struct{ method, auth, ctype, body, host string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b), r.Host}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	out, err := run(t, context.Background(), httpKind{}, "", `
url     = "`+srv.URL+`/eureka/apps/CHECKOUT/i-1/status"
method  = "PUT"
headers = { Authorization = "Bearer t0ken", "Content-Type" = "text/plain", Host = "eureka.internal" }
body    = "OUT_OF_SERVICE"
`)
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	want := seen{"PUT", "Bearer t0ken", "text/plain", "OUT_OF_SERVICE", "eureka.internal"}
	if s != want {
		t.Errorf("server saw %+v, want %+v", s, want)
	}
	if getInt(t, out, "status") != 204 || getStr(t, out, "body") != "" || !out.GetAttr("json").IsNull() {
		t.Errorf("output = %#v", out)
	}
}

func TestHTTPExpectStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "gone")
	}))
	defer srv.Close()
	for _, expect := range []string{"404", "[200, 404]"} {
		out, err := run(t, context.Background(), httpKind{}, "", `
url = "`+srv.URL+`"
expect_status = `+expect)
		if err != nil {
			t.Errorf("expect_status = %s: %v", expect, err)
			continue
		}
		if getInt(t, out, "status") != 404 {
			t.Errorf("status = %d", getInt(t, out, "status"))
		}
	}
	// Default: any 2xx; a 404 is final.
	_, err := run(t, context.Background(), httpKind{}, "", `url = "`+srv.URL+`"`)
	if err == nil || steps.IsRetryable(err) {
		t.Fatalf("unexpected 404 must be a final error, got %v", err)
	}
	_, err = run(t, context.Background(), httpKind{}, "", `
url = "`+srv.URL+`"
expect_status = [200, 204]`)
	if err == nil || !strings.Contains(err.Error(), "expected status 200 or 204") {
		t.Errorf("error %v should list the expected statuses", err)
	}
}

func TestHTTPRetryableStatuses(t *testing.T) {
	for status, retry := range map[int]bool{500: true, 503: true, 429: true, 408: true, 400: false, 401: false, 409: false} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, strings.Repeat("x", 300))
		}))
		_, err := run(t, context.Background(), httpKind{}, "", `
url = "`+srv.URL+`/hook?token=s3cret&env=prod"
method = "POST"`)
		srv.Close()
		if err == nil {
			t.Errorf("%d: want an error", status)
			continue
		}
		if steps.IsRetryable(err) != retry {
			t.Errorf("%d: retryable = %v, want %v (%v)", status, !retry, retry, err)
		}
		msg := err.Error()
		for _, want := range []string{"POST", srv.URL + "/hook?…", fmt.Sprintf("got status %d", status)} {
			if !strings.Contains(msg, want) {
				t.Errorf("%d: error %q does not contain %q", status, msg, want)
			}
		}
		if strings.Contains(msg, "s3cret") || strings.Contains(msg, "token") {
			t.Errorf("%d: error leaks the query: %q", status, msg)
		}
		if strings.Count(msg, "x") > 210 {
			t.Errorf("%d: error quotes more than 200 bytes of body: %q", status, msg)
		}
	}
}

func TestHTTPConnectionRefusedIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := run(t, context.Background(), httpKind{}, "", `url = "`+url+`"`)
	if err == nil || !steps.IsRetryable(err) {
		t.Fatalf("connection refused must be retryable, got %v", err)
	}
}

func TestHTTPTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	// The handler never answers, so the per-request timeout must fire.
	_, err := run(t, context.Background(), httpKind{}, "", `
url = "`+srv.URL+`"
timeout = "50ms"`)
	if err == nil || !steps.IsRetryable(err) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("want a retryable timeout error, got %v", err)
	}
}

func TestHTTPInsecure(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	_, err := run(t, context.Background(), httpKind{}, "", `url = "`+srv.URL+`"`)
	if err == nil || steps.IsRetryable(err) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("self-signed certificate: want a final certificate error, got %v", err)
	}
	out, err := run(t, context.Background(), httpKind{}, "", `
url = "`+srv.URL+`"
insecure = true`)
	if err != nil || getStr(t, out, "body") != "ok" {
		t.Fatalf("insecure = true: %v", err)
	}
}

func TestHTTPBodyIsCapped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "["+strings.Repeat("1,", callout.MaxOutput)+"1]")
	}))
	defer srv.Close()
	out, err := run(t, context.Background(), httpKind{}, "", `url = "`+srv.URL+`"`)
	if err != nil {
		t.Fatal(err)
	}
	body := getStr(t, out, "body")
	if len(body) > callout.MaxOutput+200 || !strings.Contains(body, "truncated") {
		t.Errorf("body of %d bytes, marker present = %v", len(body), strings.Contains(body, "truncated"))
	}
	if !out.GetAttr("json").IsNull() {
		t.Error("a truncated body must not be parsed")
	}
}

func TestHTTPDryRunSendsOnlySafeMethods(t *testing.T) {
	hits := make(chan string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- r.Method
	}))
	defer srv.Close()
	env := &steps.Env{DryRun: true}
	for _, m := range []string{"POST", "GET"} {
		cfg := decode(t, httpKind{}, `
url = "`+srv.URL+`"
method = "`+m+`"`)
		if _, err := (httpKind{}).Run(context.Background(), env, cfg); err != nil {
			t.Fatal(err)
		}
	}
	srv.Close() // waits for handlers, so every request sent is in hits
	close(hits)
	var got []string
	for m := range hits {
		got = append(got, m)
	}
	if len(got) != 1 || got[0] != "GET" {
		t.Errorf("dry run sent %q, want only the GET", got)
	}
}

func TestHTTPCheck(t *testing.T) {
	k := httpKind{}
	cases := map[string]string{
		`url = "http://x"
method = "get"`: "method",
		`url = "http://x"
method = "FOO BAR"`: "method",
		`url = "ftp://x"`: "url",
		`url = "http://x"
timeout = "5 seconds"`: "timeout",
		`url = "http://x"
expect_status = 700`: "expect_status",
		`url = "http://x"
expect_status = [200, 99.5]`: "expect_status",
		`url = "http://x"
expect_status = "200"`: "expect_status",
		`url = "http://x"
expect_status = []`: "expect_status",
	}
	for src, path := range cases {
		p := k.Check(decode(t, k, src))
		if len(p) != 1 || p[0].Path[0] != path {
			t.Errorf("%s: problems = %+v, want one on %s", src, p, path)
		}
	}
	ok := `
url = "https://user:pw@example.com/x?a=1"
method = "PURGE"
expect_status = [200, 204]
timeout = "1m"`
	if p := k.Check(decode(t, k, ok)); len(p) != 0 {
		t.Errorf("valid config: problems = %+v", p)
	}
	unknown := cty.ObjectVal(map[string]cty.Value{
		"url": cty.UnknownVal(cty.String), "method": cty.UnknownVal(cty.String),
		"headers": cty.NullVal(cty.Map(cty.String)), "body": cty.NullVal(cty.String),
		"expect_status": cty.DynamicVal, "timeout": cty.UnknownVal(cty.String),
		"insecure": cty.NullVal(cty.Bool),
	})
	if p := k.Check(unknown); len(p) != 0 {
		t.Errorf("unknown values: problems = %+v", p)
	}
}
