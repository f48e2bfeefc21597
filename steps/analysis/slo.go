package analysis

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/steps"
)

func init() {
	RegisterProvider(&Provider{
		Name:  "slo",
		Order: 25,
		Doc: "A burn-rate gate: the SRE workbook's multi-window, multi-burn-rate alert, asked of Prometheus in " +
			"one query per measurement. The burn rate over a window is the error ratio over it divided by the error " +
			"budget (1 - `objective`); a pair of windows fires when both burn faster than its rate. `result` is " +
			"`{ objective, budget, burn_rates, pairs, firing, alert }`. Without a condition a firing pair is Failed, " +
			"no pair with data in both windows Inconclusive, anything else Successful.",
		AttrDocs: withServerDocs(map[string]string{
			"objective": "The SLO's share of good events, below 1 (`0.999`).",
			"errors":    "PromQL for the rate of failed events over `$window` (or `good`).",
			"good":      "PromQL for the rate of good events over `$window` (or `errors`).",
			"total":     "PromQL for the rate of all events over `$window`.",
			"windows":   "Pairs of windows and the burn rate both must exceed, `[{ long = \"1h\", short = \"5m\", burn_rate = 14.4 }, …]` (default: the workbook's paging pairs, 1h/5m at 14.4 and 6h/30m at 6).",
		}),
		Attrs: steps.SpecFor[sloConfig](),
		Check: checkSLO,
		New: func(b cty.Value, _ *steps.Env) (Measurer, error) {
			return newSLO(b)
		},
		Verdict: sloVerdict,
	})
}

// sloProvider is a burn-rate gate: the multi-window, multi-burn-rate alert
// of the SRE workbook ("Alerting on SLOs"), asked of Prometheus as a
// release gate. The error budget is 1 - objective; the burn rate over a
// window is the error ratio over it divided by the budget (1 spends the
// budget exactly over the SLO's period). A pair of windows fires when the
// burn rate exceeds the pair's threshold over both: the long window says
// the budget is really being spent, the short one that it still is.
//
//	slo {
//	  address   = "http://prometheus:9090"
//	  objective = 0.999
//	  errors    = "sum(rate(http_requests_total{code=~\"5..\"}[$window]))"
//	  total     = "sum(rate(http_requests_total[$window]))"
//	  windows   = [{ long = "1h", short = "5m", burn_rate = 14.4 }, …]
//	}
//
// Each measurement is one instant query returning the burn rate of every
// window (sloQuery); result is
//
//	{ objective, budget,
//	  burn_rates = { "1h" = 20.1, "5m" = 18.7, … },   # null: no data
//	  pairs  = [{ long, short, burn_rate, long_burn, short_burn, firing }],
//	  firing = ["1h/5m", …],
//	  alert  = "<the workbook's alert expression for these pairs>" }
//
// Without a condition it fails when a pair fires, is inconclusive when no
// pair has data in both windows, and succeeds otherwise.
type sloProvider struct {
	promClient
	slo slo
}

// sloConfig is an slo block.
type sloConfig struct {
	promServer
	Objective float64 `hcl:"objective,required"`
	// One of good and errors: the rate of good (or failed) events over
	// $window; total: of all events.
	Good   string `hcl:"good"`
	Errors string `hcl:"errors"`
	Total  string `hcl:"total,required"`
	// A list of {long, short, burn_rate}; kept as a value because a block
	// attribute cannot be a list of objects (decoded by sloWindows).
	Windows cty.Value `hcl:"windows,type=dynamic"`
}

// window is the placeholder the queries carry for a window's range.
const window = "$window"

// sloPair is a pair of windows and the burn rate both must exceed.
type sloPair struct {
	Long, Short time.Duration
	BurnRate    float64
}

// workbookPairs are the SRE workbook's paging pairs for a 30-day SLO: 2 %
// of the budget spent in an hour, 5 % in six hours.
var workbookPairs = []sloPair{
	{Long: time.Hour, Short: 5 * time.Minute, BurnRate: 14.4},
	{Long: 6 * time.Hour, Short: 30 * time.Minute, BurnRate: 6},
}

// slo is an slo block, decoded and checked.
type slo struct {
	objective           float64
	good, errors, total string
	pairs               []sloPair
}

// budget is 1 - objective, to 12 digits: 1 - 0.999 is 0.0010000000000000009
// in binary, and the queries and messages people read say 0.001.
func (s slo) budget() float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(1-s.objective, 'g', 12, 64), 64)
	return f
}

func newSLO(b cty.Value) (*sloProvider, error) {
	c := sloConfig{promServer: newPromServer()}
	if _, err := steps.Decode(b, &c); err != nil {
		return nil, fmt.Errorf("slo: %w", err)
	}
	s, ps := c.slo(nil)
	if len(ps) > 0 {
		return nil, fmt.Errorf("slo: %w", steps.Problems(ps))
	}
	pc, err := c.client()
	if err != nil {
		return nil, err
	}
	return &sloProvider{promClient: pc, slo: s}, nil
}

func checkSLO(b cty.Value, path []string) []steps.Problem {
	c := sloConfig{promServer: newPromServer()}
	u, out := decodeAt(b, &c, path)
	out = append(out, checkAddress(u, c.promServer, path)...)
	if len(out) > 0 {
		return out
	}
	known := func(names ...string) bool { return !u.Has(names...) }
	_, ps := c.sloKnown(path, known)
	return append(out, ps...)
}

// slo checks the block and returns what it says (all values known).
func (c sloConfig) slo(path []string) (slo, []steps.Problem) {
	return c.sloKnown(path, func(...string) bool { return true })
}

// sloKnown checks the attributes known says are known (at load time some
// may wait for variables) and returns the SLO.
func (c sloConfig) sloKnown(path []string, known func(...string) bool) (slo, []steps.Problem) {
	var out []steps.Problem
	s := slo{objective: c.Objective, good: c.Good, errors: c.Errors, total: c.Total, pairs: workbookPairs}
	if known("objective") && !(c.Objective > 0 && c.Objective < 1) {
		detail := fmt.Sprintf("objective is the share of good events, between 0 and 1 (0.999 for 99.9 %%); got %g.", c.Objective)
		if c.Objective > 1 && c.Objective < 100 {
			detail += fmt.Sprintf(" For %g %%, write %.6g.", c.Objective, c.Objective/100)
		}
		out = append(out, problem(path, "objective", "Invalid objective", detail))
	}
	if known("good", "errors") && (c.Good == "") == (c.Errors == "") {
		out = append(out, problem(path, "errors", "Which events count against the budget?",
			"Give exactly one of good (the rate of good events over $window) and errors (the rate of failed ones)."))
	}
	for _, q := range []struct{ name, text string }{{"good", c.Good}, {"errors", c.Errors}, {"total", c.Total}} {
		if known(q.name) && q.text != "" && !strings.Contains(q.text, window) {
			out = append(out, problem(path, q.name, "No $window in the query",
				fmt.Sprintf("%s is asked over each window: write the range as $window, such as sum(rate(http_requests_total[$window])).", q.name)))
		}
	}
	// The parts of windows known at validate are checked there, the
	// others (a burn rate from a variable) at run: one mistake, one
	// diagnostic, before anything runs.
	if !c.Windows.IsNull() && c.Windows.IsKnown() {
		pairs, ps := sloWindows(c.Windows, append(append([]string{}, path...), "windows"))
		out = append(out, ps...)
		s.pairs = pairs
	}
	if known("objective") && len(out) == 0 {
		for _, p := range s.pairs {
			if p.BurnRate*s.budget() >= 1 {
				out = append(out, problem(path, "windows", "A burn rate that never fires",
					fmt.Sprintf("burn_rate %g over %s/%s needs an error ratio of %.6g, and a ratio is at most 1: with objective %g the burn rate must be below %.6g.",
						p.BurnRate, promDuration(p.Long), promDuration(p.Short), p.BurnRate*s.budget(), s.objective, 1/s.budget())))
			}
		}
	}
	return s, out
}

// sloWindows reads windows: a list of objects {long, short, burn_rate}.
// Parts not known yet (validate, before the variables) are passed over and
// left zero in the pairs.
func sloWindows(v cty.Value, path []string) ([]sloPair, []steps.Problem) {
	bad := func(detail string) []steps.Problem {
		return []steps.Problem{{Path: path, Summary: "Invalid windows", Detail: detail +
			` Write windows = [{ long = "1h", short = "5m", burn_rate = 14.4 }, { long = "6h", short = "30m", burn_rate = 6 }].`}}
	}
	if !v.CanIterateElements() || v.Type().IsMapType() || v.Type().IsObjectType() || v.LengthInt() == 0 {
		return nil, bad("windows is a non-empty list of pairs of windows.")
	}
	var pairs []sloPair
	for i, e := range v.AsValueSlice() {
		at := fmt.Sprintf("windows[%d]", i)
		if !e.IsKnown() {
			pairs = append(pairs, sloPair{})
			continue
		}
		if e.IsNull() || !e.Type().IsObjectType() {
			return nil, bad(at + " is not an object.")
		}
		for name := range e.Type().AttributeTypes() {
			if name != "long" && name != "short" && name != "burn_rate" {
				return nil, bad(fmt.Sprintf("%s has %q; a pair has long, short and burn_rate.", at, name))
			}
		}
		var p sloPair
		for _, d := range []struct {
			name string
			dst  *time.Duration
		}{{"long", &p.Long}, {"short", &p.Short}} {
			if e.Type().HasAttribute(d.name) && !e.GetAttr(d.name).IsKnown() {
				continue
			}
			if !e.Type().HasAttribute(d.name) || e.GetAttr(d.name).IsNull() || e.GetAttr(d.name).Type() != cty.String {
				return nil, bad(fmt.Sprintf("%s.%s must be a duration such as \"1h\".", at, d.name))
			}
			dur, err := model.ParseDuration(e.GetAttr(d.name).AsString())
			if err != nil || dur <= 0 {
				return nil, bad(fmt.Sprintf("%s.%s = %q is not a duration such as \"1h\" or \"30s\".", at, d.name, e.GetAttr(d.name).AsString()))
			}
			*d.dst = time.Duration(dur)
		}
		rate := cty.NullVal(cty.Number)
		if e.Type().HasAttribute("burn_rate") {
			rate = e.GetAttr("burn_rate")
		}
		switch {
		case !rate.IsKnown(): // checked at run
		case rate.IsNull() || rate.Type() != cty.Number:
			return nil, bad(at + ".burn_rate must be a number, such as 14.4.")
		default:
			p.BurnRate, _ = rate.AsBigFloat().Float64()
			if p.BurnRate <= 0 {
				return nil, bad(fmt.Sprintf("%s.burn_rate must be above 0; got %g.", at, p.BurnRate))
			}
		}
		if p.Short > 0 && p.Long > 0 && p.Short >= p.Long {
			return nil, bad(fmt.Sprintf("%s: the short window (%s) must be shorter than the long one (%s).", at, promDuration(p.Short), promDuration(p.Long)))
		}
		pairs = append(pairs, p)
	}
	return pairs, nil
}

// promDuration is d as PromQL writes a range ("1h", "5m", "1m30s").
func promDuration(d time.Duration) string { return model.Duration(d).String() }

// windows are the distinct windows of the pairs, in the order they appear.
func (s slo) windows() []time.Duration {
	var out []time.Duration
	seen := map[time.Duration]bool{}
	for _, p := range s.pairs {
		for _, w := range []time.Duration{p.Long, p.Short} {
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}

// burnQuery is the burn rate over w: the error ratio (errors/total, or
// 1 - good/total) divided by the error budget.
func (s slo) burnQuery(w time.Duration) string {
	at := func(q string) string { return strings.ReplaceAll(q, window, promDuration(w)) }
	ratio := fmt.Sprintf("(%s) / (%s)", at(s.errors), at(s.total))
	if s.good != "" {
		ratio = fmt.Sprintf("(1 - (%s) / (%s))", at(s.good), at(s.total))
	}
	return fmt.Sprintf("%s / %s", ratio, formatFloat(s.budget()))
}

// sloQuery is the one query of a measurement: the burn rate over every
// window, each series labelled slo_window with its window.
func (s slo) sloQuery() string {
	var parts []string
	for _, w := range s.windows() {
		parts = append(parts, fmt.Sprintf("label_replace(%s, \"slo_window\", %q, \"\", \"\")", s.burnQuery(w), promDuration(w)))
	}
	return strings.Join(parts, " or ")
}

// alertQuery is the workbook's alert expression for the same pairs: a
// series when some pair fires. The gate judges the numbers sloQuery
// returns the same way, and names them; this is for people who want the
// alert that matches their gate (result.alert).
func (s slo) alertQuery() string {
	var parts []string
	for _, p := range s.pairs {
		parts = append(parts, fmt.Sprintf("(%s > %s and %s > %s)",
			s.burnQuery(p.Long), formatFloat(p.BurnRate), s.burnQuery(p.Short), formatFloat(p.BurnRate)))
	}
	return strings.Join(parts, " or ")
}

func (p *sloProvider) Describe() string {
	var pairs []string
	for _, w := range p.slo.pairs {
		pairs = append(pairs, fmt.Sprintf("%s/%s > %s", promDuration(w.Long), promDuration(w.Short), formatFloat(w.BurnRate)))
	}
	return fmt.Sprintf("slo %s at prometheus %s, burn rate over %s", formatFloat(p.slo.objective), callout.Redact(p.address), strings.Join(pairs, ", "))
}

func (p *sloProvider) Measure(ctx context.Context) (cty.Value, string, error) {
	v, err := p.ask(ctx, p.slo.sloQuery())
	if err != nil {
		return cty.NilVal, "", fmt.Errorf("slo: %w", err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return cty.NilVal, "", fmt.Errorf("slo: prometheus returned a %s for the burn rates, not a vector", v.Type())
	}
	burns := map[string]*float64{}
	for _, smp := range vec {
		w := string(smp.Metric["slo_window"])
		if burns[w] != nil {
			return cty.NilVal, "", fmt.Errorf("slo: the burn rate over %s has more than one series (%s): aggregate the queries to one, such as sum(rate(…[$window]))", w, smp.Metric)
		}
		f := float64(smp.Value)
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			burns[w] = &f
		}
	}
	r, short := p.slo.judge(burns)
	return r, short, nil
}

// judge shapes the burn rates measured (by window; absent: no data) into
// the result and its short form, which names every pair's numbers.
func (s slo) judge(burns map[string]*float64) (cty.Value, string) {
	num := func(f *float64) cty.Value {
		if f == nil {
			return cty.NullVal(cty.Number)
		}
		return cty.NumberFloatVal(*f)
	}
	show := func(f *float64) string {
		if f == nil {
			return "no data"
		}
		return formatBurn(*f)
	}
	rates := map[string]cty.Value{}
	for _, w := range s.windows() {
		rates[promDuration(w)] = num(burns[promDuration(w)])
	}
	var pairs, firing []cty.Value
	var parts []string
	for _, p := range s.pairs {
		name := promDuration(p.Long) + "/" + promDuration(p.Short)
		l, sh := burns[promDuration(p.Long)], burns[promDuration(p.Short)]
		fires := l != nil && sh != nil && *l > p.BurnRate && *sh > p.BurnRate
		pairs = append(pairs, cty.ObjectVal(map[string]cty.Value{
			"long": cty.StringVal(promDuration(p.Long)), "short": cty.StringVal(promDuration(p.Short)),
			"burn_rate": cty.NumberFloatVal(p.BurnRate), "long_burn": num(l), "short_burn": num(sh),
			"firing": cty.BoolVal(fires),
		}))
		part := fmt.Sprintf("%s burn rates %s and %s, threshold %s", name, show(l), show(sh), formatFloat(p.BurnRate))
		if fires {
			firing = append(firing, cty.StringVal(name))
			part += " (firing)"
		}
		parts = append(parts, part)
	}
	firingList := cty.ListValEmpty(cty.String)
	if len(firing) > 0 {
		firingList = cty.ListVal(firing)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"objective":  cty.NumberFloatVal(s.objective),
		"budget":     cty.NumberFloatVal(s.budget()),
		"burn_rates": cty.ObjectVal(rates),
		"pairs":      cty.TupleVal(pairs),
		"firing":     firingList,
		"alert":      cty.StringVal(s.alertQuery()),
	}), strings.Join(parts, "; ")
}

// formatBurn shows a burn rate to three decimals.
func formatBurn(f float64) string {
	return formatFloat(math.Round(f*1000) / 1000)
}

// sloVerdict: a firing pair fails; no pair with data in both windows is
// inconclusive (a misspelt metric must not pass a gate).
func sloVerdict(r cty.Value) Phase {
	if r.GetAttr("firing").LengthInt() > 0 {
		return Failed
	}
	for _, p := range r.GetAttr("pairs").AsValueSlice() {
		if !p.GetAttr("long_burn").IsNull() && !p.GetAttr("short_burn").IsNull() {
			return Successful
		}
	}
	return Inconclusive
}
