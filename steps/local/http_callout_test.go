package local

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/internal/callout/callouttest"
	"github.com/cutoverhq/cutover/steps"
)

// The http step calls out through internal/callout, whose tests cover the
// behaviour; these say it is wired, and how the step classifies what
// callout refuses.

// credentials is callouttest.Credentials as an HCL headers attribute.
func credentials() string {
	var lines []string
	for k, v := range callouttest.Credentials {
		lines = append(lines, fmt.Sprintf("  %q = %q", k, v))
	}
	sort.Strings(lines)
	return "\nheaders = {\n" + strings.Join(lines, "\n") + "\n}"
}

func TestHTTPCredentialsStayWithTheirOrigin(t *testing.T) {
	other := callouttest.NewRecorder(t, nil)
	first := httptest.NewServer(callouttest.Redirect(other.URL + "/elsewhere"))
	defer first.Close()
	out, err := run(t, context.Background(), httpKind{}, "", `url = "`+first.URL+`/start"`+credentials())
	if err != nil || getStr(t, out, "body") != "landed" {
		t.Fatalf("err %v; the redirect was not followed", err)
	}
	reqs := other.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests reached the other origin", len(reqs))
	}
	callouttest.AssertNoCredentials(t, reqs)
}

func TestHTTPDowngradeIsFinal(t *testing.T) {
	plain := callouttest.NewRecorder(t, nil)
	tlsSrv := httptest.NewTLSServer(callouttest.Redirect(plain.URL + "/clear"))
	defer tlsSrv.Close()
	_, err := run(t, context.Background(), httpKind{}, "", `url = "`+tlsSrv.URL+`/start"
insecure = true`)
	if err == nil || !strings.Contains(err.Error(), "from https to plain http") || steps.IsRetryable(err) {
		t.Fatalf("err = %v (retryable %v); want the downgrade refused, not retried", err, steps.IsRetryable(err))
	}
	if n := len(plain.Requests()); n != 0 {
		t.Errorf("%d requests were sent in clear", n)
	}
}

func TestHTTPBodyLargerThanBoundIsFinal(t *testing.T) {
	srv := httptest.NewServer(callouttest.Endless(""))
	defer srv.Close()
	_, err := run(t, context.Background(), httpKind{}, "", `url = "`+srv.URL+`"`)
	if err == nil || !strings.Contains(err.Error(), "status 200, the response body is larger than 10 MiB") || steps.IsRetryable(err) {
		t.Fatalf("err = %v (retryable %v); want the body bound named, not retried", err, steps.IsRetryable(err))
	}
}

// TestHTTPNoCredentialShown: a credential in the URL (user, password,
// query, fragment) or a header never shows in the step's error, progress,
// output or plan, however the request fails.
func TestHTTPNoCredentialShown(t *testing.T) {
	loop := http.NewServeMux()
	loop.Handle("/", callouttest.Redirect("/next?sig="+callouttest.Secret))
	looping := httptest.NewServer(loop)
	defer looping.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	for _, tc := range []struct{ name, base, want string }{
		{"connection refused", callouttest.ClosedURL(t), "connection refused"},
		{"redirect loop", looping.URL, "stopped after 10 redirects"},
		{"status", failing.URL, "503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := `url = "` + callouttest.SecretURL(tc.base, "/hook") + `"` + credentials()
			cfg := decode(t, httpKind{}, src)
			var progress []string
			env := &steps.Env{Pipeline: "p", Stage: "s", Attempt: 1, Progress: func(s string) { progress = append(progress, s) }}
			out, err := httpKind{}.Run(context.Background(), env, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want %q", err, tc.want)
			}
			plan, _ := httpKind{}.Plan(context.Background(), env, cfg)
			callouttest.AssertHidden(t, "the http step", err.Error(), fmt.Sprintf("%#v", out), strings.Join(progress, "\n"), plan)
		})
	}
}
