package analysis

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/steps/stepstest"
)

// requests is an exporter of http_requests_total{code} counters that grow
// at 1,000 requests a second, a share of them 500s: the test turns the
// share from 0 to 5 % and Prometheus sees the error ratio follow.
type requests struct {
	mu       sync.Mutex
	last     time.Time
	ok, fail float64
	errShare float64
	srv      *httptest.Server
}

func newRequests(t *testing.T) *requests {
	r := &requests{last: time.Now()}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.mu.Lock()
		r.advance()
		ok, fail := r.ok, r.fail
		r.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE http_requests_total counter\n")
		fmt.Fprintf(w, "http_requests_total{code=\"200\"} %d\n", int64(ok))
		fmt.Fprintf(w, "http_requests_total{code=\"500\"} %d\n", int64(fail))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// advance counts the requests served since the last call at the share of
// errors in force (mu held).
func (r *requests) advance() {
	now := time.Now()
	n := 1000 * now.Sub(r.last).Seconds()
	r.last = now
	r.fail += n * r.errShare
	r.ok += n * (1 - r.errShare)
}

func (r *requests) setErrors(share float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advance()
	r.errShare = share
}

// TestSLOBurnRateGate drives an exporter from 0 % to 5 % errors against a
// 99 % objective (a 1 % budget: 5 % errors burn it 5 times too fast): the
// gate passes, then fails naming the burn rates of both windows. The
// windows are seconds long so the test takes seconds (Prometheus scrapes
// every 200ms).
func TestSLOBurnRateGate(t *testing.T) {
	r := newRequests(t)
	addr := startPrometheus(t, r.srv.URL)
	// The long window must hold 6s of clean traffic (30 scrapes), or it
	// would see no more than the short one.
	waitScraped(t, addr, `count_over_time(http_requests_total{code="200"}[6s]) > bool 27`, "1")

	slo := fmt.Sprintf(`slo {
  address   = %q
  objective = 0.99
  errors    = "sum(rate(http_requests_total{code=\"500\"}[$window]))"
  total     = "sum(rate(http_requests_total[$window]))"
  windows   = [{ long = "6s", short = "2s", burn_rate = 2 }]
}`, addr)

	env, cfg := inline(t, slo, nil)
	out, err := verifyKind{}.Run(t.Context(), env, cfg)
	if err != nil || stepstest.Str(out, "phase") != "Successful" {
		t.Fatalf("at 0 %% errors: phase %q, err %v", stepstest.Str(out, "phase"), err)
	}
	if b := stepstest.Float(out.GetAttr("last").GetAttr("burn_rates"), "2s", -1); b != 0 {
		t.Errorf("at 0 %% errors the burn rate over 2s is %g, want 0", b)
	}

	r.setErrors(0.05)
	env, cfg = inline(t, "count = 60\ninterval = \"250ms\"\n"+slo, nil)
	started := time.Now()
	out, err = verifyKind{}.Run(t.Context(), env, cfg)
	var v *Verdict
	if !errors.As(err, &v) || v.Phase != Failed {
		t.Fatalf("at 5 %% errors: err = %v, want a Failed verdict", err)
	}
	t.Logf("failed after %s, %d measurements: %v", time.Since(started).Round(time.Millisecond), v.Successful+v.Failed, err)
	// The short window burns at 5 within 2s; the long one passes 2 only
	// after 2.4s (5 × 2.4/6): measurements pass until then.
	if v.Successful < 3 {
		t.Errorf("%d measurements passed before the budget burnt, want the first second's at least: %v", v.Successful, err)
	}
	m := regexp.MustCompile(`6s/2s burn rates ([0-9.]+) and ([0-9.]+), threshold 2 \(firing\)`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("the reason does not name the burn rates: %v", err)
	}
	for i, w := range []string{"6s", "2s"} {
		f, _ := strconv.ParseFloat(m[i+1], 64)
		// 5 % errors over a 1 % budget: 5 once the window holds only
		// errorful traffic; above 2 to fire.
		if f <= 2 || f > 5.5 {
			t.Errorf("burn rate over %s = %g, want between 2 and 5.5", w, f)
		}
	}
	last := out.GetAttr("last")
	if got := stepstest.StrList(last, "firing"); strings.Join(got, ",") != "6s/2s" {
		t.Errorf("firing = %v", got)
	}
	if !strings.Contains(stepstest.Str(last, "alert"), `> 2 and`) {
		t.Errorf("alert = %q", stepstest.Str(last, "alert"))
	}
}
