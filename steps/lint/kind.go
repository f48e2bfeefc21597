package lint

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/render"
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

func (kind) Doc() string {
	return "Checks manifests for what breaks a zero-downtime release (readiness probes, termination grace, " +
		"rolling-update settings, selectors, capacity) and reports each finding with file:line:col, as " +
		"`cutover lint` does. Usually in a stage the deploy depends on, so a bad manifest stops the pipeline " +
		"before it touches the cluster. It changes nothing."
}

func (kind) AttrDocs() map[string]string {
	out := maps.Clone(render.Docs)
	out["chart"] = "A Helm chart rendered in process, as deploy renders it: its objects are linted, findings name the template file and line where the rendered line shows in it."
	out["kustomize"] = "A Kustomize overlay built in process, as deploy builds it: its objects are linted."
	maps.Copy(out, map[string]string{
		"manifests": "Manifest contents, as deploy takes them (`file(…)`, `templatefile(…)`).",
		"files":     "Manifest files, relative to the pipeline directory: findings then name the file and line.",
		"fail_on":   "The least severity that fails the stage: `error` (default), `warning` or `never`.",
		"ignore":    "Rules to leave out, by id (`cutover lint` names each finding's rule).",
	})
	return out
}

// config is the lint block.
type config struct {
	// Contents, as deploy takes them (file(), templatefile()).
	Manifests []string `hcl:"manifests"`
	// Paths relative to the pipeline directory; findings then carry the
	// real file name and line.
	Files []string `hcl:"files"`
	// What deploy would apply from a chart or an overlay (docs/design.md,
	// "Charts and overlays").
	Chart     *render.Chart   `hcl:"chart,block"`
	Kustomize *render.Overlay `hcl:"kustomize,block"`
	FailOn    string          `hcl:"fail_on"`
	Ignore    []string        `hcl:"ignore"`
}

var spec = steps.SpecFor[config]()

func (kind) Spec() hcldec.Spec { return spec }

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
	c := config{FailOn: SevError}
	u, err := steps.Decode(cfg, &c)
	return append(steps.ProblemsOf(err), c.check(u)...)
}

func (c *config) check(u steps.Unknown) []steps.Problem {
	var out []steps.Problem
	if !u.Has("fail_on") && !contains(failOns, c.FailOn) {
		out = append(out, steps.Problem{Path: []string{"fail_on"}, Summary: "Invalid fail_on",
			Detail: fmt.Sprintf("fail_on is %q; use \"error\" (the default: fail on errors), \"warning\" (fail on any finding) or \"never\" (report only)", c.FailOn)})
	}
	if !u.Has("ignore") {
		for _, id := range c.Ignore {
			if !KnownRule(id) {
				out = append(out, steps.Problem{Path: []string{"ignore"}, Summary: "Unknown lint rule",
					Detail: fmt.Sprintf("ignore names %q, which is no rule; rules are %s", id, strings.Join(ruleIDs(), ", "))})
			}
		}
	}
	if !u.Has("manifests", "files", "chart", "kustomize") && c.Manifests == nil && c.Files == nil && !c.Chart.Given() && !c.Kustomize.Given() {
		out = append(out, steps.Problem{Path: []string{"manifests"}, Summary: "Nothing to lint",
			Detail: "set manifests (contents, e.g. [file(\"app.yaml\")]), files (paths relative to the pipeline directory), a chart or a kustomize block"})
	}
	return out
}

// Absent names a chart or kustomize block whose path is empty, which a
// plan does not show (steps.Chooser).
func (kind) Absent(cfg cty.Value) []string {
	var c config
	if _, err := steps.Decode(cfg, &c); err != nil {
		return nil
	}
	return render.Absent(c.Chart, c.Kustomize)
}

func (kind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	c := config{FailOn: SevError}
	u, err := steps.Decode(cfg, &c)
	if err != nil {
		return cty.NilVal, fmt.Errorf("lint: %w", err)
	}
	if ps := c.check(u); len(ps) > 0 {
		return cty.NilVal, fmt.Errorf("lint: %s", ps[0].Detail)
	}
	srcs, err := sources(env, c)
	if err != nil {
		return cty.NilVal, err
	}
	rendered, note, err := renderSources(env, c)
	if err != nil {
		return cty.NilVal, err
	}
	if note != "" && env != nil {
		env.Report(note)
	}
	findings := Rendered(srcs, rendered, Options{Ignore: c.Ignore})
	out := output(findings)
	if bad := AtLeast(findings, c.FailOn); len(bad) > 0 {
		var b strings.Builder
		// The first finding on the summary's line, each other on its own:
		// one-line output (report's) joins the lines with " | ", which
		// then separates findings, never the summary from the first.
		fmt.Fprintf(&b, "lint: %s (fail_on = %q): %s", Summary(findings), c.FailOn, bad[0])
		for _, f := range bad[1:] {
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
func sources(env *steps.Env, c config) ([]Source, error) {
	var out []Source
	byContent := map[string]bool{}
	for _, p := range c.Files {
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
	for i, m := range c.Manifests {
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
