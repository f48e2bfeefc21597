package analysis

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/internal/defaults"
	"github.com/cutoverhq/cutover/steps"
)

func init() {
	RegisterProvider(&Provider{
		Name:  "prometheus",
		Order: 20,
		Doc: "Runs an instant PromQL query per measurement. `result` is `{ type, value, vector }`: value is the " +
			"scalar or the only sample of a one-element vector (else null), vector every series as `{ labels, value }`. " +
			"It has no natural verdict: write a condition (`result.value < 0.01`, or " +
			"`alltrue([for s in result.vector : s.value < 5])`). NaN reads as null.",
		AttrDocs: prometheusDocs,
		Attrs:    steps.SpecFor[prometheusConfig](),
		Check:    checkPrometheus,
		New: func(b cty.Value, _ *steps.Env) (Measurer, error) {
			return newPrometheus(b)
		},
		ConditionExample: "result.value < 0.01",
	})
}

// prometheusProvider runs an instant query per measurement. result is
//
//	{ type   = "vector" | "scalar" | "matrix" | "string",
//	  value  = <number>,   # the scalar, or the only sample of a one-element vector; else null
//	  vector = [{ labels = { pod = "…" }, value = <number> }, …] }
//
// so a simple gate reads `result.value` (`condition = result.value < 0.01`)
// and a per-series one iterates `result.vector`
// (`alltrue([for s in result.vector : s.value < 5])`). An empty vector has a
// null value: write `coalesce(result.value, 0) == 0` when "no series" means
// zero, as for in-flight requests of instances that are gone. A matrix is
// reduced to the last sample of each series. NaN (0/0 when there is no
// traffic) cannot be a number in HCL and reads as null.
type prometheusProvider struct {
	promClient
	query string
}

// prometheusDocs describe prometheusConfig's attributes in the reference.
var prometheusDocs = withServerDocs(map[string]string{
	"query": "The PromQL expression, evaluated at the time of the measurement.",
})

// prometheusConfig is a prometheus block.
type prometheusConfig struct {
	promServer
	Query string `hcl:"query,required"`
}

// promServer is the server a block asks (prometheus, slo).
type promServer struct {
	Address string        `hcl:"address,required"`
	Timeout time.Duration `hcl:"timeout"`
	// headers carry credentials for a Prometheus behind a proxy
	// (Authorization: Bearer …); they are sent, never shown.
	Headers map[string]string `hcl:"headers"`
}

// withServerDocs is a block's attribute docs and promServer's.
func withServerDocs(docs map[string]string) map[string]string {
	out := map[string]string{
		"address": "The Prometheus server's base URL (`http://prometheus.monitoring:9090`).",
		"timeout": "How long one query may take, with its unit (default `\"30s\"`).",
		"headers": "Request headers, for a Prometheus behind a proxy (`Authorization`); sent, never shown.",
	}
	maps.Copy(out, docs)
	return out
}

func newPromServer() promServer { return promServer{Timeout: defaults.PrometheusMeasureTimeout} }

func newPrometheusConfig() prometheusConfig {
	return prometheusConfig{promServer: newPromServer()}
}

func newPrometheus(b cty.Value) (*prometheusProvider, error) {
	c := newPrometheusConfig()
	if _, err := steps.Decode(b, &c); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	pc, err := c.client()
	if err != nil {
		return nil, err
	}
	return &prometheusProvider{promClient: pc, query: c.Query}, nil
}

// promClient asks one server instant queries (prometheus, slo).
type promClient struct {
	address string
	timeout time.Duration
	api     promv1.API
}

// client is the client of the server s names.
func (s promServer) client() (promClient, error) {
	if err := callout.CheckURL(s.Address); err != nil {
		return promClient{}, fmt.Errorf("prometheus address: %w", err)
	}
	// The API client reads whole bodies and cannot set headers per
	// request: callout bounds the bodies and adds the headers (credentials)
	// at the transport, for the server's origin only.
	base, _ := url.Parse(s.Address)
	client := callout.NewClient(callout.ClientOptions{Headers: s.Headers, Base: base})
	ac, err := api.NewClient(api.Config{Address: s.Address, Client: client})
	if err != nil {
		return promClient{}, fmt.Errorf("prometheus client for %s: %s", callout.Redact(s.Address), callout.ErrorText(err, s.Address))
	}
	return promClient{address: s.Address, timeout: s.Timeout, api: promv1.NewAPI(ac)}, nil
}

// ask evaluates q now. The API client's errors quote the URL it posted
// to, below address, which may hold credentials: the error names the
// server redacted and quotes nothing else of it (callout.ErrorText).
func (c promClient) ask(ctx context.Context, q string) (model.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, _, _, err := c.api.Query(ctx, q, time.Now(), promv1.WithTimeout(c.timeout))
	if err != nil {
		return nil, fmt.Errorf("prometheus %s, query %q: %s", callout.Redact(c.address), q, callout.ErrorText(err, c.address))
	}
	return v, nil
}

// checkAddress is the load-time check of a block's address.
func checkAddress(u steps.Unknown, s promServer, path []string) []steps.Problem {
	if u.Has("address") {
		return nil
	}
	if err := callout.CheckURL(s.Address); err != nil {
		return []steps.Problem{problem(path, "address", "Invalid Prometheus address",
			err.Error()+"; address is the server's base URL, such as \"http://prometheus.monitoring:9090\".")}
	}
	return nil
}

func checkPrometheus(b cty.Value, path []string) []steps.Problem {
	c := newPrometheusConfig()
	u, out := decodeAt(b, &c, path)
	out = append(out, checkAddress(u, c.promServer, path)...)
	if !u.Has("query") && strings.TrimSpace(c.Query) == "" {
		out = append(out, problem(path, "query", "Empty query", "query must be a PromQL expression."))
	}
	return out
}

func (p *prometheusProvider) Describe() string {
	return fmt.Sprintf("prometheus %s query %q", callout.Redact(p.address), p.query)
}

func (p *prometheusProvider) Measure(ctx context.Context) (cty.Value, string, error) {
	v, err := p.ask(ctx, p.query)
	if err != nil {
		return cty.NilVal, "", err
	}
	return promResult(v)
}

// promResult shapes a query result as documented on prometheusProvider.
func promResult(v model.Value) (cty.Value, string, error) {
	var samples []*model.Sample
	typ := v.Type().String()
	scalar := cty.NullVal(cty.Number)
	short := ""
	switch t := v.(type) {
	case *model.Scalar:
		scalar = number(float64(t.Value))
		short = formatFloat(float64(t.Value))
	case model.Vector:
		samples = t
	case model.Matrix:
		for _, s := range t {
			if n := len(s.Values); n > 0 {
				samples = append(samples, &model.Sample{Metric: s.Metric, Value: s.Values[n-1].Value})
			}
		}
	case *model.String:
		short = t.Value
	default:
		return cty.NilVal, "", fmt.Errorf("prometheus returned a %s, which a gate cannot read", typ)
	}
	vec := make([]cty.Value, 0, len(samples))
	var parts []string
	for _, s := range samples {
		labels := map[string]string{}
		for k, l := range s.Metric {
			labels[string(k)] = string(l)
		}
		vec = append(vec, cty.ObjectVal(map[string]cty.Value{
			"labels": steps.FromGo(labels),
			"value":  number(float64(s.Value)),
		}))
		parts = append(parts, s.Metric.String()+" "+formatFloat(float64(s.Value)))
	}
	if len(samples) == 1 {
		scalar = number(float64(samples[0].Value))
		short = formatFloat(float64(samples[0].Value))
	} else if v.Type() != model.ValScalar && v.Type() != model.ValString {
		sort.Strings(parts)
		short = "[" + strings.Join(parts, ", ") + "]"
		if len(short) > 200 {
			short = short[:197] + "…]"
		}
	}
	elem := cty.Object(map[string]cty.Type{"labels": cty.Map(cty.String), "value": cty.Number})
	list := cty.ListValEmpty(elem)
	if len(vec) > 0 {
		// FromGo gives an empty label set an empty map of strings, so
		// every element has the same type and a list is possible.
		list = cty.ListVal(vec)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"type":   cty.StringVal(typ),
		"value":  scalar,
		"vector": list,
	}), short, nil
}

// number converts a sample value; NaN has no cty form and reads as null.
func number(f float64) cty.Value {
	if math.IsNaN(f) {
		return cty.NullVal(cty.Number)
	}
	return cty.NumberFloatVal(f)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
