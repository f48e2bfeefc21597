package analysis

import (
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/defaults"
	"github.com/cutoverhq/cutover/internal/words"
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

// settingsConfig is an analysis body besides its provider block.
type settingsConfig struct {
	Interval              time.Duration `hcl:"interval"`
	Count                 int           `hcl:"count"`
	InitialDelay          time.Duration `hcl:"initial_delay"`
	FailureLimit          int           `hcl:"failure_limit"`
	InconclusiveLimit     int           `hcl:"inconclusive_limit"`
	ConsecutiveErrorLimit int           `hcl:"consecutive_error_limit"`
	conditions
}

// settingsDocs describe settingsConfig's attributes in the reference.
var settingsDocs = map[string]string{
	"interval":                "Time from the start of one measurement to the start of the next, with its unit (default `\"10s\"`).",
	"count":                   "How many measurements decide the gate (default 1). Errored measurements do not use it up: they are taken again.",
	"initial_delay":           "Time to wait before the first measurement, with its unit (default none).",
	"failure_limit":           "Failed measurements tolerated: the gate fails as soon as there are more (default 0).",
	"inconclusive_limit":      "Inconclusive measurements tolerated: the gate ends Inconclusive as soon as there are more (default 0).",
	"consecutive_error_limit": "Errors in a row tolerated (a provider that cannot measure): the gate ends in Error as soon as there are more (default 4).",
}

func newSettingsConfig() settingsConfig {
	return settingsConfig{Interval: defaults.AnalysisInterval, Count: defaults.AnalysisCount,
		ConsecutiveErrorLimit: defaults.AnalysisConsecutiveErrorLimit}
}

// readSettings reads an analysis body decoded with settingsSpec. It reports
// the first invalid value; Check reports them all at load time, so this only
// fires for values that were unknown then.
func readSettings(cfg cty.Value) (settings, error) {
	if ps := checkSettings(cfg, nil); len(ps) > 0 {
		return settings{}, fmt.Errorf("%s: %s", pathString(ps[0].Path), ps[0].Detail)
	}
	c := newSettingsConfig()
	steps.Decode(cfg, &c)
	return settings{interval: c.Interval, count: c.Count, initialDelay: c.InitialDelay,
		failureLimit: c.FailureLimit, inconclusiveLimit: c.InconclusiveLimit,
		consecutiveErrorLimit: c.ConsecutiveErrorLimit}, nil
}

// checkSettings validates the known values of an analysis body. prefix is
// prepended to every problem's path.
func checkSettings(cfg cty.Value, prefix []string) []steps.Problem {
	if cfg.IsNull() || !cfg.IsKnown() {
		return nil
	}
	at := func(p ...string) []string { return append(append([]string{}, prefix...), p...) }
	c := newSettingsConfig()
	u, out := decodeAt(cfg, &c, prefix)
	if !u.Has("interval", "count") && c.Interval == 0 && c.Count > 1 {
		out = append(out, steps.Problem{Path: at("interval"), Summary: "Invalid interval",
			Detail: `interval must be more than zero when count is more than 1, such as "10s".`})
	}
	for _, n := range []struct {
		name     string
		val, min int
	}{{"count", c.Count, 1}, {"failure_limit", c.FailureLimit, 0}, {"inconclusive_limit", c.InconclusiveLimit, 0},
		{"consecutive_error_limit", c.ConsecutiveErrorLimit, 0}} {
		if !u.Has(n.name) && n.val < n.min {
			out = append(out, steps.Problem{Path: at(n.name), Summary: "Invalid " + n.name,
				Detail: fmt.Sprintf("%s must be a whole number of at least %d; got %d.", n.name, n.min, n.val)})
		}
	}

	defs := present(cfg)
	for _, d := range defs {
		out = append(out, d.check(blockOf(cfg, d), at(d.Name))...)
	}
	switch {
	case len(defs) == 0:
		out = append(out, steps.Problem{Path: prefix, Summary: "No analysis provider",
			Detail: "An analysis needs exactly one provider block: " + words.Or(providerNames()) + "."})
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

// checkConditions reports conditions written twice, and providers whose
// result has no default verdict written without any condition.
func checkConditions(cfg cty.Value, def *Provider, prefix []string) []steps.Problem {
	var out []steps.Problem
	var body, block conditions
	steps.Decode(cfg, &body)
	steps.Decode(blockOf(cfg, def), &block)
	for _, c := range []struct {
		name        string
		body, block cty.Value
	}{{"condition", body.Condition, block.Condition}, {"failure_condition", body.FailureCondition, block.FailureCondition}} {
		if !c.body.IsNull() && !c.block.IsNull() {
			out = append(out, steps.Problem{Path: append(append([]string{}, prefix...), c.name),
				Summary: "Condition given twice",
				Detail:  fmt.Sprintf("%s is set both in the analysis body and in its %s block; keep one.", c.name, def.Name)})
		}
	}
	none := body.Condition.IsNull() && block.Condition.IsNull() &&
		body.FailureCondition.IsNull() && block.FailureCondition.IsNull()
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
