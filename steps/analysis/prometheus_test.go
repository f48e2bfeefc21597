package analysis

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
	"github.com/cutoverhq/cutover/steps/stepstest"
)

// waitScraped polls the query until Prometheus has scraped the value the
// test set: scrapes are periodic, so there is nothing to watch.
func waitScraped(t *testing.T, addr, query, want string) {
	t.Helper()
	p, err := newPrometheus(cty.ObjectVal(map[string]cty.Value{"address": cty.StringVal(addr), "query": cty.StringVal(query)}))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for range tick.C {
		_, v, err := p.Measure(t.Context())
		if err == nil && v == want {
			return
		}
		last = fmt.Sprintf("value %q, err %v", v, err)
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not see %s = %s within 30s; last %s", query, want, last)
		}
	}
}

func TestPrometheusGateFollowsMetric(t *testing.T) {
	m := newMetrics(t)
	m.checkout.Store(5)
	addr := startPrometheus(t, m.srv.URL)
	const query = `sum(http_requests_in_flight{app="checkout"})`
	waitScraped(t, addr, query, "5")

	// "in-flight traffic reaches zero", as a graceful offline pipeline
	// writes it.
	src := fmt.Sprintf("prometheus {\n address = %q\n query = %q\n condition = result.value == 0\n}", addr, query)
	env, cfg := inline(t, src, nil)
	out, _, err := runFake(t, env, cfg)
	var v *Verdict
	if !errors.As(err, &v) || v.Phase != Failed || steps.IsRetryable(err) {
		t.Fatalf("with 5 in flight: err = %v, want a non-retryable Failed verdict", err)
	}
	if !strings.Contains(err.Error(), `last failed value "5"`) || stepstest.Float(out.GetAttr("last"), "value", -1) != 5 {
		t.Errorf("err = %q, last = %#v", err, out.GetAttr("last"))
	}

	m.checkout.Store(0)
	waitScraped(t, addr, query, "0")
	env, cfg = inline(t, "count = 3\ninterval = \"300ms\"\n"+src, nil)
	out, err = verifyKind{}.Run(t.Context(), env, cfg)
	if err != nil || stepstest.Str(out, "phase") != "Successful" || stepstest.Int(out, "successful", 0) != 3 {
		t.Fatalf("with 0 in flight: phase %q, err %v", stepstest.Str(out, "phase"), err)
	}
}

func TestPrometheusVector(t *testing.T) {
	m := newMetrics(t)
	m.cart.Store(2)
	addr := startPrometheus(t, m.srv.URL)
	waitScraped(t, addr, `sum(http_requests_in_flight)`, "2")

	src := fmt.Sprintf("prometheus {\n address = %q\n query = \"http_requests_in_flight\"\n condition = length([for s in result.vector : s if s.value > 0]) == 0\n}", addr)
	env, cfg := inline(t, src, nil)
	out, _, err := runFake(t, env, cfg)
	if stepstest.Str(out, "phase") != "Failed" {
		t.Fatalf("phase %q, err %v", stepstest.Str(out, "phase"), err)
	}
	last := out.GetAttr("last")
	if !last.GetAttr("value").IsNull() || last.GetAttr("vector").LengthInt() != 2 || stepstest.Str(last, "type") != "vector" {
		t.Errorf("last = %#v, want two series and no single value", last)
	}
	apps := map[string]float64{}
	for _, s := range last.GetAttr("vector").AsValueSlice() {
		apps[stepstest.StrMap(s, "labels")["app"]] = stepstest.Float(s, "value", -1)
	}
	if apps["cart"] != 2 || apps["checkout"] != 0 {
		t.Errorf("series = %v", apps)
	}
}

func TestPrometheusQueryError(t *testing.T) {
	m := newMetrics(t)
	addr := startPrometheus(t, m.srv.URL)
	src := fmt.Sprintf("consecutive_error_limit = 0\nprometheus {\n address = %q\n query = \"sum(\"\n condition = result.value == 0\n}", addr)
	env, cfg := inline(t, src, nil)
	_, _, err := runFake(t, env, cfg)
	var v *Verdict
	if !errors.As(err, &v) || v.Phase != Error || !strings.Contains(err.Error(), "parse error") || !strings.Contains(err.Error(), `query "sum("`) {
		t.Fatalf("err = %v, want an Error verdict quoting the query and Prometheus' parse error", err)
	}
}

func TestPromResultShapes(t *testing.T) {
	now := model.Time(0)
	for _, tc := range []struct {
		name  string
		v     model.Value
		value cty.Value
		n     int
		short string
	}{
		{"scalar", &model.Scalar{Value: 0.25, Timestamp: now}, cty.NumberFloatVal(0.25), 0, "0.25"},
		{"empty vector", model.Vector{}, cty.NullVal(cty.Number), 0, "[]"},
		{"one sample", model.Vector{{Metric: model.Metric{"app": "x"}, Value: 3}}, cty.NumberFloatVal(3), 1, "3"},
		{"NaN", model.Vector{{Metric: model.Metric{}, Value: model.SampleValue(math.NaN())}}, cty.NullVal(cty.Number), 1, "NaN"},
		{"matrix keeps the last sample", model.Matrix{{Metric: model.Metric{"a": "b"}, Values: []model.SamplePair{{Value: 1}, {Value: 7}}}}, cty.NumberFloatVal(7), 1, "7"},
		{"two samples", model.Vector{{Metric: model.Metric{"a": "2"}, Value: 2}, {Metric: model.Metric{"a": "1"}, Value: 1}}, cty.NullVal(cty.Number), 2, `[{a="1"} 1, {a="2"} 2]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, short, err := promResult(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.GetAttr("value"); !got.RawEquals(tc.value) {
				t.Errorf("value = %#v, want %#v", got, tc.value)
			}
			if n := r.GetAttr("vector").LengthInt(); n != tc.n {
				t.Errorf("vector has %d elements, want %d", n, tc.n)
			}
			if short != tc.short {
				t.Errorf("short = %q, want %q", short, tc.short)
			}
		})
	}
}
