package lint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(kind{}) }

// kind is the `lint` step: zero-downtime findings on manifests, usually in
// a stage the deploy depends on, so a bad manifest stops the pipeline
// before it touches the cluster. It writes nothing, so it has no undo.
type kind struct{}

func (kind) Name() string { return "lint" }

// ReadOnly: it only looks.
func (kind) ReadOnly() {}

func (kind) Spec() hcldec.Spec {
	return &hcldec.ObjectSpec{
		// Contents, as deploy takes them (file(), templatefile()).
		"manifests": &hcldec.AttrSpec{Name: "manifests", Type: cty.List(cty.String)},
		// Paths relative to the pipeline directory; findings then carry the
		// real file name and line.
		"files":   &hcldec.AttrSpec{Name: "files", Type: cty.List(cty.String)},
		"fail_on": &hcldec.AttrSpec{Name: "fail_on", Type: cty.String},
		"ignore":  &hcldec.AttrSpec{Name: "ignore", Type: cty.List(cty.String)},
	}
}

// findingType is one element of the `findings` output.
var findingType = cty.Object(map[string]cty.Type{
	"file": cty.String, "line": cty.Number, "col": cty.Number, "rule": cty.String,
	"severity": cty.String, "object": cty.String, "message": cty.String, "hint": cty.String,
})

func (kind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{
		"findings": cty.List(findingType),
		"errors":   cty.Number,
		"warnings": cty.Number,
	})
}

// failOn values: the least severity that fails the stage.
var failOns = []string{SevError, SevWarning, "never"}

func (kind) Check(cfg cty.Value) []steps.Problem {
	var out []steps.Problem
	if v := steps.Attr(cfg, "fail_on"); v.IsKnown() && !v.IsNull() {
		if fo := v.AsString(); !contains(failOns, fo) {
			out = append(out, steps.Problem{Path: []string{"fail_on"}, Summary: "Invalid fail_on",
				Detail: fmt.Sprintf("fail_on is %q; use \"error\" (the default: fail on errors), \"warning\" (fail on any finding) or \"never\" (report only)", fo)})
		}
	}
	if v := steps.Attr(cfg, "ignore"); v.IsWhollyKnown() {
		for _, id := range steps.StrList(cfg, "ignore") {
			if !KnownRule(id) {
				out = append(out, steps.Problem{Path: []string{"ignore"}, Summary: "Unknown lint rule",
					Detail: fmt.Sprintf("ignore names %q, which is no rule; rules are %s", id, strings.Join(ruleIDs(), ", "))})
			}
		}
	}
	m, f := steps.Attr(cfg, "manifests"), steps.Attr(cfg, "files")
	if m.IsKnown() && m.IsNull() && f.IsKnown() && f.IsNull() {
		out = append(out, steps.Problem{Path: []string{"manifests"}, Summary: "Nothing to lint",
			Detail: "set manifests (contents, e.g. [file(\"app.yaml\")]) or files (paths relative to the pipeline directory)"})
	}
	return out
}

func (k kind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	if ps := k.Check(cfg); len(ps) > 0 {
		return cty.NilVal, fmt.Errorf("lint: %s", ps[0].Detail)
	}
	srcs, err := sources(env, cfg)
	if err != nil {
		return cty.NilVal, err
	}
	findings := Lint(srcs, Options{Ignore: steps.StrList(cfg, "ignore")})
	out := output(findings)
	failOn := steps.Str(cfg, "fail_on")
	if failOn == "" {
		failOn = SevError
	}
	if bad := AtLeast(findings, failOn); len(bad) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "lint: %s (fail_on = %q):", Summary(findings), failOn)
		for _, f := range bad {
			b.WriteString("\n  " + f.String())
		}
		return out, fmt.Errorf("%s", b.String())
	}
	return out, nil
}

// sources reads files (relative to the pipeline directory) and names each
// manifest content after the file it equals, so `file("app.yaml")` listed
// in both is linted once under its real name; any other content is named
// manifests[i], and its lines are those of the rendered text.
func sources(env *steps.Env, cfg cty.Value) ([]Source, error) {
	var out []Source
	byContent := map[string]bool{}
	for _, p := range steps.StrList(cfg, "files") {
		full := p
		if !filepath.IsAbs(p) && env != nil {
			full = filepath.Join(env.Dir, p)
		}
		b, err := os.ReadFile(full)
		if err != nil {
			return nil, fmt.Errorf("lint: cannot read file %q listed in files: %w", p, err)
		}
		out = append(out, Source{Name: p, Data: b})
		byContent[string(b)] = true
	}
	for i, m := range steps.StrList(cfg, "manifests") {
		if byContent[m] {
			continue
		}
		out = append(out, Source{Name: fmt.Sprintf("manifests[%d]", i), Data: []byte(m)})
	}
	return out, nil
}

func output(fs []Finding) cty.Value {
	list := cty.ListValEmpty(findingType)
	if len(fs) > 0 {
		vals := make([]cty.Value, len(fs))
		for i, f := range fs {
			vals[i] = cty.ObjectVal(map[string]cty.Value{
				"file": cty.StringVal(f.File), "line": cty.NumberIntVal(int64(f.Line)), "col": cty.NumberIntVal(int64(f.Col)),
				"rule": cty.StringVal(f.Rule), "severity": cty.StringVal(f.Severity), "object": cty.StringVal(f.Object),
				"message": cty.StringVal(f.Message), "hint": cty.StringVal(f.Hint),
			})
		}
		list = cty.ListVal(vals)
	}
	e, w := Count(fs)
	return cty.ObjectVal(map[string]cty.Value{"findings": list, "errors": cty.NumberIntVal(int64(e)), "warnings": cty.NumberIntVal(int64(w))})
}

func ruleIDs() []string {
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	return ids
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
