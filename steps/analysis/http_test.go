package analysis

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout/callouttest"
	"github.com/cutoverhq/cutover/steps"
	"github.com/cutoverhq/cutover/steps/stepstest"
)

// statusServer answers with the given statuses in order, then the last one
// again; it records the Authorization header it received.
func statusServer(t *testing.T, statuses ...int) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var auth []string
	i := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := statuses[min(i, len(statuses)-1)]
		i++
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Version", "v2")
		w.Header().Set("Set-Cookie", "session=s3cr3t-cookie")
		w.WriteHeader(s)
		fmt.Fprintf(w, `{"ok": %t, "status": %d}`, s < 300, s)
	}))
	t.Cleanup(srv.Close)
	return srv, &auth
}

func TestHTTPVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []int
		settings string
		cond     string
		want     Phase
		taken    int
	}{
		{"all 200", []int{200, 200, 200}, "count = 3\ninterval = \"1s\"", "condition = result.status == 200", Successful, 3},
		{"a 500 fails at once", []int{200, 500, 200}, "count = 3\ninterval = \"1s\"", "condition = result.status == 200", Failed, 2},
		{"a 500 within failure_limit", []int{200, 500, 200}, "count = 3\ninterval = \"1s\"\nfailure_limit = 1", "condition = result.status == 200", Successful, 3},
		{"two 500s beyond failure_limit", []int{500, 200, 500, 200}, "count = 4\ninterval = \"1s\"\nfailure_limit = 1", "condition = result.status == 200", Failed, 3},
		{"404 is inconclusive", []int{200, 404}, "count = 3\ninterval = \"1s\"", "condition = result.status == 200\nfailure_condition = result.status >= 500", Inconclusive, 2},
		{"json condition", []int{200, 200}, "count = 2\ninterval = \"1s\"", "condition = result.json.ok && result.headers[\"x-version\"] == \"v2\"", Successful, 2},
		{"default condition is 2xx", []int{204, 503}, "count = 2\ninterval = \"1s\"", "", Failed, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, auth := statusServer(t, tc.statuses...)
			src := fmt.Sprintf("%s\nhttp {\n url = \"%s/healthz\"\n headers = { Authorization = \"Bearer ${var.token}\" }\n %s\n}", tc.settings, srv.URL, tc.cond)
			env, cfg := inline(t, src, map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"token": cty.StringVal("t0ps3cret")})})
			out, prog, err := runFake(t, env, cfg)
			if got := stepstest.Str(out, "phase"); got != string(tc.want) {
				t.Fatalf("phase = %q, want %s (err %v)", got, tc.want, err)
			}
			var v *Verdict
			if tc.want == Successful && err != nil || tc.want != Successful && !errors.As(err, &v) {
				t.Fatalf("err = %v", err)
			}
			if steps.IsRetryable(err) {
				t.Errorf("a verdict must not be retryable: %v", err)
			}
			if n := out.GetAttr("measurements").LengthInt(); n != tc.taken {
				t.Errorf("%d measurements, want %d", n, tc.taken)
			}
			if len(*auth) != tc.taken || (*auth)[0] != "Bearer t0ps3cret" {
				t.Errorf("server saw Authorization %q", *auth)
			}
			// Secrets: neither the request header nor the response cookie
			// may reach an output, a progress line or the error.
			all := fmt.Sprintf("%#v\n%s\n%v", out, prog.all(), err)
			for _, secret := range []string{"t0ps3cret", "s3cr3t-cookie"} {
				if strings.Contains(all, secret) {
					t.Errorf("%q leaked:\n%s", secret, all)
				}
			}
			last := out.GetAttr("last")
			if st := stepstest.Int(last, "status", 0); st != int64(tc.statuses[tc.taken-1]) {
				t.Errorf("last.status = %d", st)
			}
			if m := out.GetAttr("measurements").Index(cty.NumberIntVal(0)); stepstest.Str(m, "value") != fmt.Sprint(tc.statuses[0]) || stepstest.Str(m, "time") == "" {
				t.Errorf("first measurement = %#v", m)
			}
		})
	}
}

func TestHTTPResultShape(t *testing.T) {
	srv, _ := statusServer(t, 200)
	p, err := newHTTP(cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal(srv.URL)}))
	if err != nil {
		t.Fatal(err)
	}
	r, value, err := p.Measure(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if value != "200" {
		t.Errorf("value = %q", value)
	}
	if got := r.GetAttr("json").GetAttr("status"); !got.RawEquals(cty.NumberIntVal(200)) {
		t.Errorf("json.status = %#v", got)
	}
	if got := stepstest.StrMap(r, "headers"); got["content-type"] != "application/json" || got["set-cookie"] != "" {
		t.Errorf("headers = %v", got)
	}
	if l := stepstest.Float(r, "latency", -1); l <= 0 {
		t.Errorf("latency = %v, want seconds > 0", l)
	}
	if !strings.Contains(stepstest.Str(r, "body"), `"ok": true`) {
		t.Errorf("body = %q", stepstest.Str(r, "body"))
	}
}

func TestHTTPConnectionErrors(t *testing.T) {
	// Credentials never shown: TestNoCredentialShown.
	addr := strings.TrimPrefix(callouttest.ClosedURL(t), "http://")
	src := fmt.Sprintf("count = 2\ninterval = \"1s\"\nconsecutive_error_limit = 2\nhttp {\n url = \"http://%s/healthz\"\n}", addr)
	env, cfg := inline(t, src, nil)
	out, _, err := runFake(t, env, cfg)
	var v *Verdict
	if !errors.As(err, &v) || v.Phase != Error || v.Errors != 3 {
		t.Fatalf("err = %v, want an Error verdict after 3 consecutive errors", err)
	}
	if !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), addr) {
		t.Errorf("err = %q, want the address and the cause", err)
	}
	if m := out.GetAttr("measurements").Index(cty.NumberIntVal(0)); stepstest.Str(m, "phase") != "Error" || stepstest.Str(m, "error") == "" {
		t.Errorf("measurement = %#v", m)
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	env, cfg := inline(t, fmt.Sprintf("http {\n url = %q\n timeout = \"50ms\"\n}", srv.URL), nil)
	_, _, err := runFake(t, env, cfg)
	if err == nil || !strings.Contains(err.Error(), "no response within 50ms") {
		t.Fatalf("err = %v", err)
	}
}

func TestReferencedAnalysis(t *testing.T) {
	srv, _ := statusServer(t, 200, 500)
	a := fmt.Sprintf("count = 2\ninterval = \"1s\"\nhttp {\n url = \"%s/${var.path}\"\n condition = result.status == 200\n}", srv.URL)
	env, cfg := reference(t, "healthy", a, map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"path": cty.StringVal("healthz")})})
	out, prog, err := runFake(t, env, cfg)
	var v *Verdict
	if !errors.As(err, &v) || v.Analysis != "healthy" || v.Phase != Failed {
		t.Fatalf("err = %v", err)
	}
	if stepstest.Str(out, "name") != "healthy" || !strings.Contains(prog.all(), "analysis healthy: 1/2 successful, 1 failed") {
		t.Errorf("name %q, progress:\n%s", stepstest.Str(out, "name"), prog.all())
	}
	if !strings.Contains(err.Error(), `last failed value "500"`) {
		t.Errorf("err = %q", err)
	}
}

func TestDryRunMeasuresNothing(t *testing.T) {
	srv, auth := statusServer(t, 200)
	env, cfg := inline(t, fmt.Sprintf("http {\n url = %q\n}", srv.URL), nil)
	env.DryRun = true
	_, _, err := runFake(t, env, cfg)
	nr, ok := steps.AsNotRehearsed(err)
	if !ok || stepstest.Str(nr.Output, "phase") != "Skipped" || len(*auth) != 0 {
		t.Fatalf("err %v, %d requests", err, len(*auth))
	}
	if !strings.Contains(nr.Error(), "dry run: not rehearsed: analysis") {
		t.Errorf("err = %q", nr.Error())
	}
}

// The engine may mark sensitive variables (cty marks); a marked header or a
// condition over a marked value must work, and stay out of the output.
func TestSensitiveMarks(t *testing.T) {
	srv, auth := statusServer(t, 200)
	token := cty.StringVal("t0ps3cret").Mark("sensitive")
	src := fmt.Sprintf("http {\n url = %q\n headers = { Authorization = \"Bearer ${var.token}\" }\n condition = result.status == 200 && var.token != \"\"\n}", srv.URL)
	env, cfg := inline(t, src, map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"token": token})})
	out, prog, err := runFake(t, env, cfg)
	if err != nil || stepstest.Str(out, "phase") != "Successful" {
		t.Fatalf("phase %q, err %v", stepstest.Str(out, "phase"), err)
	}
	if (*auth)[0] != "Bearer t0ps3cret" {
		t.Errorf("server saw %q", (*auth)[0])
	}
	if s := fmt.Sprintf("%#v %s", out, prog.all()); strings.Contains(s, "t0ps3cret") {
		t.Errorf("token leaked: %s", s)
	}
}

func TestPlanDescribesWithoutMeasuring(t *testing.T) {
	srv, auth := statusServer(t, 200)
	env, cfg := inline(t, fmt.Sprintf("count = 6\ninterval = \"5s\"\nfailure_limit = 1\nhttp {\n url = \"%s/healthz?token=abc\"\n}", srv.URL), nil)
	got, err := verifyKind{}.Plan(t.Context(), env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("analysis verify_green: http GET %s/healthz?…, 6 measurements every 5s (failure_limit 1, inconclusive_limit 0, consecutive_error_limit 4)", srv.URL)
	if got != want || len(*auth) != 0 {
		t.Errorf("plan = %q\nwant   %q (%d requests)", got, want, len(*auth))
	}
}
