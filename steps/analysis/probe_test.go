package analysis

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps/stepstest"
)

// rollingServer answers like a service in the middle of a switch: odd
// requests from v1, even ones from v2, and every failEvery-th with a 503
// (0: never).
func rollingServer(t *testing.T, failEvery int64) (*httptest.Server, *atomic.Int64, *atomic.Int64) {
	var served, failed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := served.Add(1)
		if failEvery > 0 && n%failEvery == 0 {
			failed.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		v := "v2"
		if n%2 == 1 {
			v = "v1"
		}
		w.Header().Set("X-Version", v)
		fmt.Fprintf(w, `{"version": %q}`, v)
	}))
	t.Cleanup(srv.Close)
	return srv, &served, &failed
}

func TestProbeCountsErrorsAndVersions(t *testing.T) {
	for _, by := range []string{`version_header = "X-Version"`, `version_field = "version"`} {
		t.Run(by, func(t *testing.T) {
			srv, served, failed := rollingServer(t, 3)
			src := fmt.Sprintf("probe {\n url = %q\n rate = 100\n duration = \"100ms\"\n %s\n condition = result.error_rate == 0\n}", srv.URL, by)
			env, cfg := inline(t, src, nil)
			out, _, err := runFake(t, env, cfg)
			r := out.GetAttr("last")
			requests, errs := stepstest.Int(r, "requests", -1), stepstest.Int(r, "errors", -1)
			if requests != served.Load() || errs != failed.Load() {
				t.Fatalf("probe saw %d requests, %d errors; server served %d, failed %d", requests, errs, served.Load(), failed.Load())
			}
			if requests < 3 {
				t.Fatalf("only %d requests in the window; the test needs a 503 among them", requests)
			}
			var v *Verdict
			if !errors.As(err, &v) || v.Phase != Failed {
				t.Errorf("err = %v, want Failed: %d of %d requests failed", err, errs, requests)
			}
			versions := r.GetAttr("versions").AsValueMap()
			var sum int64
			for _, n := range versions {
				i, _ := n.AsBigFloat().Int64()
				sum += i
			}
			if sum != requests-errs || versions["v1"].IsNull() || versions["v2"].IsNull() {
				t.Errorf("versions = %#v, want v1 and v2 adding up to %d", versions, requests-errs)
			}
			if got, want := stepstest.Float(r, "error_rate", -1), float64(errs)/float64(requests); got != want {
				t.Errorf("error_rate = %v, want %v", got, want)
			}
		})
	}
}

func TestProbeHealthy(t *testing.T) {
	srv, _, _ := rollingServer(t, 0)
	env, cfg := inline(t, fmt.Sprintf("probe {\n url = %q\n rate = 50\n duration = \"60ms\"\n}", srv.URL), nil)
	out, _, err := runFake(t, env, cfg)
	if err != nil || stepstest.Str(out, "phase") != "Successful" {
		t.Fatalf("phase %q, err %v", stepstest.Str(out, "phase"), err)
	}
	// Without a version setting every response is "unknown".
	if u := out.GetAttr("last").GetAttr("versions").Index(cty.StringVal("unknown")); u.IsNull() {
		t.Errorf("versions = %#v", out.GetAttr("last").GetAttr("versions"))
	}
}

// Each request of a probe comes on a connection of its own: a Service
// balances connections, and one kept alive would stay on the old pod.
func TestProbeNewConnectionPerRequest(t *testing.T) {
	srv, served, _ := rollingServer(t, 0)
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	env, cfg := inline(t, fmt.Sprintf("probe {\n url = %q\n rate = 100\n duration = \"100ms\"\n}", srv.URL), nil)
	if _, _, err := runFake(t, env, cfg); err != nil {
		t.Fatal(err)
	}
	if served.Load() < 2 || conns.Load() != served.Load() {
		t.Errorf("%d requests came on %d connections; want one each", served.Load(), conns.Load())
	}
}

func TestProbeCheck(t *testing.T) {
	_, cfg := inline(t, "probe {\n url = \"http://app\"\n rate = 0\n duration = \"0s\"\n}", nil)
	ps := verifyKind{}.Check(cfg)
	if len(ps) != 2 || ps[0].Path[1] != "rate" || ps[1].Path[1] != "duration" {
		t.Fatalf("problems = %+v, want rate and duration", ps)
	}
}
