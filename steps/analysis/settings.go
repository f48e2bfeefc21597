package analysis

import (
	"fmt"
	"math/big"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// settings are the measurement schedule and limits of one analysis.
type settings struct {
	interval              time.Duration
	count                 int
	initialDelay          time.Duration
	failureLimit          int
	inconclusiveLimit     int
	consecutiveErrorLimit int
}

const (
	defaultInterval              = 10 * time.Second
	defaultConsecutiveErrorLimit = 4
)

// readSettings reads an analysis body decoded with settingsSpec. It reports
// the first invalid value; Check reports them all at load time, so this only
// fires for values that were unknown then.
func readSettings(cfg cty.Value) (settings, error) {
	if ps := checkSettings(cfg, nil); len(ps) > 0 {
		return settings{}, fmt.Errorf("%s: %s", pathString(ps[0].Path), ps[0].Detail)
	}
	s := settings{
		count:                 int(steps.Int(cfg, "count", 1)),
		failureLimit:          int(steps.Int(cfg, "failure_limit", 0)),
		inconclusiveLimit:     int(steps.Int(cfg, "inconclusive_limit", 0)),
		consecutiveErrorLimit: int(steps.Int(cfg, "consecutive_error_limit", defaultConsecutiveErrorLimit)),
	}
	s.interval, _ = steps.Duration(cfg, "interval", defaultInterval)
	s.initialDelay, _ = steps.Duration(cfg, "initial_delay", 0)
	return s, nil
}

// checkSettings validates the known values of an analysis body. prefix is
// prepended to every problem's path.
func checkSettings(cfg cty.Value, prefix []string) []steps.Problem {
	if cfg.IsNull() || !cfg.IsKnown() {
		return nil
	}
	at := func(p ...string) []string { return append(append([]string{}, prefix...), p...) }
	out := steps.CheckDurations(cfg, prefix, "interval", "initial_delay")
	if d, err := steps.Duration(cfg, "interval", defaultInterval); err == nil && d == 0 && steps.Int(cfg, "count", 1) > 1 {
		out = append(out, steps.Problem{Path: at("interval"), Summary: "Invalid interval",
			Detail: `interval must be more than zero when count is more than 1, such as "10s".`})
	}
	out = append(out, checkInt(cfg, "count", 1, at("count"))...)
	for _, n := range []string{"failure_limit", "inconclusive_limit", "consecutive_error_limit"} {
		out = append(out, checkInt(cfg, n, 0, at(n))...)
	}

	defs := present(cfg)
	for _, d := range defs {
		out = append(out, d.check(steps.Attr(cfg, d.Name), at(d.Name))...)
	}
	switch {
	case len(defs) == 0:
		out = append(out, steps.Problem{Path: prefix, Summary: "No analysis provider",
			Detail: "An analysis needs exactly one provider block: " + orList(providerNames()) + "."})
	case len(defs) > 1:
		names := make([]string, len(defs))
		for i, d := range defs {
			names[i] = d.Name
		}
		out = append(out, steps.Problem{Path: at(names[1]), Summary: "More than one analysis provider",
			Detail: fmt.Sprintf("An analysis holds exactly one provider block; this one has %v. Split them into separate analyses.", names)})
	default:
		out = append(out, checkConditions(cfg, defs[0], prefix)...)
	}
	return out
}

// checkInt reports a known number that is not a whole number ≥ min.
func checkInt(cfg cty.Value, name string, min int64, path []string) []steps.Problem {
	v := steps.Attr(cfg, name)
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Number {
		return nil
	}
	f := v.AsBigFloat()
	if !f.IsInt() || f.Cmp(new(big.Float).SetInt64(min)) < 0 {
		return []steps.Problem{{Path: path, Summary: "Invalid " + name,
			Detail: fmt.Sprintf("%s must be a whole number of at least %d; got %s.", name, min, f.Text('g', -1))}}
	}
	return nil
}

// checkConditions reports conditions written twice, and providers whose
// result has no default verdict written without any condition.
func checkConditions(cfg cty.Value, def *providerDef, prefix []string) []steps.Problem {
	var out []steps.Problem
	block := steps.Attr(cfg, def.Name)
	for _, c := range []string{"condition", "failure_condition"} {
		if !steps.Attr(cfg, c).IsNull() && !steps.Attr(block, c).IsNull() {
			out = append(out, steps.Problem{Path: append(append([]string{}, prefix...), c),
				Summary: "Condition given twice",
				Detail:  fmt.Sprintf("%s is set both in the analysis body and in its %s block; keep one.", c, def.Name)})
		}
	}
	none := steps.Attr(cfg, "condition").IsNull() && steps.Attr(block, "condition").IsNull() &&
		steps.Attr(cfg, "failure_condition").IsNull() && steps.Attr(block, "failure_condition").IsNull()
	if none && def.Verdict == nil {
		out = append(out, steps.Problem{Path: append(append([]string{}, prefix...), def.Name),
			Summary: "Missing condition",
			Detail:  fmt.Sprintf("A %s measurement has no natural verdict: add condition = <expression over result>, such as %s.", def.Name, def.ConditionExample)})
	}
	return out
}

func pathString(p []string) string {
	s := ""
	for i, e := range p {
		if i > 0 {
			s += "."
		}
		s += e
	}
	if s == "" {
		return "analysis"
	}
	return s
}
