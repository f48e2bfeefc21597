package analysis

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/internal/defaults"
	"github.com/cutoverhq/cutover/steps"
)

// probeProvider watches a rollout from the outside, the way a person runs
// `while sleep 0.1; do curl …; done` during a switch: each measurement
// sends `rate` requests per second for `duration` and reports what came
// back. result is
//
//	{ requests = 50, errors = 1, error_rate = 0.02,
//	  statuses = { "200" = 49, "503" = 1 },
//	  versions = { "v1" = 20, "v2" = 29 },
//	  latency_max = 0.031 }
//
// errors counts failed requests (no response, or a 5xx). versions counts
// the responses that were not errors by the value of version_header (a
// response header) or version_field (a top-level field of a JSON body);
// a response without one counts as "unknown". Without a condition a
// measurement is Successful when error_rate is 0.
type probeProvider struct {
	http          *httpProvider
	rate          float64
	duration      time.Duration
	versionHeader string
	versionField  string
}

// probeDocs describe probeConfig's attributes in the reference: an http
// block's and the window's.
func probeDocs() map[string]string {
	out := maps.Clone(httpDocs)
	out["timeout"] = "How long one request may take, with its unit (default `\"10s\"`); a request without an answer by then is an error."
	out["rate"] = "Requests per second (default 10)."
	out["duration"] = "How long one measurement sends requests, with its unit (default `\"5s\"`)."
	out["version_header"] = "A response header whose value names the version that answered (`X-Version`)."
	out["version_field"] = "A top-level field of a JSON response body that names the version that answered."
	return out
}

// probeConfig is a probe block: an http block and the window's shape.
type probeConfig struct {
	httpConfig
	Rate          float64       `hcl:"rate"`
	Duration      time.Duration `hcl:"duration"`
	VersionHeader string        `hcl:"version_header"`
	VersionField  string        `hcl:"version_field"`
}

func newProbeConfig() probeConfig {
	return probeConfig{httpConfig: newHTTPConfig(), Rate: 10, Duration: defaults.ProbeDuration}
}

func init() {
	o := steps.SpecFor[probeConfig]()
	RegisterProvider(&Provider{
		Name:  "probe",
		Order: 50,
		Doc: "Watches a rollout from the outside: each measurement sends `rate` requests per second for " +
			"`duration` and counts what came back. `result` is `{ requests, errors, error_rate, statuses, versions, " +
			"latency_max }`; errors are failed requests (no response, or a 5xx), versions count the other responses by " +
			"`version_header` or `version_field`. Without a condition an error rate of 0 is Successful.",
		AttrDocs: probeDocs(),
		Attrs:    o,
		Check:    checkProbe,
		New: func(b cty.Value, _ *steps.Env) (Measurer, error) {
			return newProbe(b)
		},
		Verdict: probeVerdict,
	})
}

// maxInFlight bounds the requests a probe has open at once: a service that
// stops answering must not make the probe pile up connections.
const maxInFlight = 64

func newProbe(b cty.Value) (*probeProvider, error) {
	h, err := newHTTP(b)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	c := newProbeConfig()
	if _, err := steps.Decode(b, &c); err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	// A new connection per request: through a Service, a kept-alive one
	// stays on its old pod and the probe would never see the switch.
	h.client = callout.NewClient(callout.ClientOptions{Insecure: c.Insecure, NoRedirects: true, NewConnections: true})
	p := &probeProvider{http: h, rate: c.Rate, duration: c.Duration,
		versionHeader: c.VersionHeader, versionField: c.VersionField}
	if p.rate <= 0 || p.rate > 1000 {
		return nil, fmt.Errorf("probe rate must be between 0 and 1000 requests per second; got %g", p.rate)
	}
	return p, nil
}

func checkProbe(b cty.Value, path []string) []steps.Problem {
	// checkHTTP reports the http attributes' problems; the probe's own
	// are those of the rest of its block.
	out := checkHTTP(b, path)
	c := newProbeConfig()
	u, ps := decodeAt(b, &c, path)
	for _, p := range ps {
		if n := p.Path[len(p.Path)-1]; n == "rate" || n == "duration" {
			out = append(out, p)
		}
	}
	if f := c.Rate; !u.Has("rate") && (f <= 0 || f > 1000) {
		out = append(out, problem(path, "rate", "Invalid rate",
			fmt.Sprintf("rate is requests per second, more than 0 and at most 1000; got %g.", f)))
	}
	if !u.Has("duration") && c.Duration == 0 && len(ps) == 0 {
		out = append(out, problem(path, "duration", "Invalid duration", `duration is the window each measurement probes for, such as "10s"; it must be more than zero.`))
	}
	return out
}

func (p *probeProvider) Describe() string {
	return fmt.Sprintf("probe %s %s at %g/s for %s", p.http.req.Method, p.http.shown, p.rate, p.duration)
}

// probeVerdict: a window of requests without an error is Successful.
func probeVerdict(r cty.Value) Phase {
	res := struct {
		Requests  int     `hcl:"requests"`
		ErrorRate float64 `hcl:"error_rate"`
	}{0, 1}
	if _, err := steps.Decode(r, &res); err == nil && res.Requests > 0 && res.ErrorRate == 0 {
		return Successful
	}
	return Failed
}

// probeTally accumulates one window's responses.
type probeTally struct {
	mu                 sync.Mutex
	requests, errors   int
	statuses, versions map[string]int
	latencyMax         time.Duration
	lastErr            string
}

func (p *probeProvider) Measure(ctx context.Context) (cty.Value, string, error) {
	t := &probeTally{statuses: map[string]int{}, versions: map[string]int{}}
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxInFlight)
	send := func() {
		select {
		case slots <- struct{}{}:
		default:
			return // maxInFlight requests are still open: skip this tick
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			resp, err := p.http.do(ctx)
			t.add(p, resp, err)
		}()
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / p.rate))
	defer tick.Stop()
	window := time.NewTimer(p.duration)
	defer window.Stop()
	send()
probing:
	for {
		select {
		case <-tick.C:
			send()
		case <-window.C:
			break probing
		case <-ctx.Done():
			break probing
		}
	}
	// Requests sent in the window finish (within the timeout): a window
	// that ignored its slowest answers would look healthier than it is.
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return cty.NilVal, "", err
	}
	return t.result()
}

func (t *probeTally) add(p *probeProvider, resp *response, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests++
	if err != nil {
		t.errors++
		t.lastErr = err.Error()
		return
	}
	t.latencyMax = max(t.latencyMax, resp.latency)
	t.statuses[strconv.Itoa(resp.status)]++
	if resp.status >= 500 {
		t.errors++
		return
	}
	v := ""
	if p.versionHeader != "" {
		v = resp.header.Get(p.versionHeader)
	} else if p.versionField != "" {
		if j := steps.JSONValue(resp.body.Bytes(), resp.body.Truncated()); !j.IsNull() && j.Type().IsObjectType() && j.Type().HasAttribute(p.versionField) {
			if f := j.GetAttr(p.versionField); !f.IsNull() && f.Type() == cty.String {
				v = f.AsString()
			}
		}
	}
	if v == "" {
		v = "unknown"
	}
	t.versions[callout.Text([]byte(v))]++
}

func (t *probeTally) result() (cty.Value, string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rate := 0.0
	if t.requests > 0 {
		rate = float64(t.errors) / float64(t.requests)
	}
	counts := func(m map[string]int) cty.Value {
		if len(m) == 0 {
			return cty.MapValEmpty(cty.Number)
		}
		vs := map[string]cty.Value{}
		for k, n := range m {
			vs[k] = cty.NumberIntVal(int64(n))
		}
		return cty.MapVal(vs)
	}
	short := fmt.Sprintf("%d requests, %d errors", t.requests, t.errors)
	if len(t.versions) > 0 {
		var mix []string
		for v, n := range t.versions {
			mix = append(mix, fmt.Sprintf("%s %d", v, n))
		}
		sort.Strings(mix)
		short += ", " + strings.Join(mix, " / ")
	}
	if t.lastErr != "" {
		short += "; last error: " + t.lastErr
	}
	return cty.ObjectVal(map[string]cty.Value{
		"requests":    cty.NumberIntVal(int64(t.requests)),
		"errors":      cty.NumberIntVal(int64(t.errors)),
		"error_rate":  cty.NumberFloatVal(rate),
		"statuses":    counts(t.statuses),
		"versions":    counts(t.versions),
		"latency_max": cty.NumberFloatVal(t.latencyMax.Seconds()),
	}), short, nil
}
