package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/cutoverhq/cutover/internal/render"
	"github.com/cutoverhq/cutover/steps/lint"
)

// cmdLint lints manifests: files, the .yaml/.yml/.json files of directories
// (subdirectories too, as fmt), and "-" for stdin (helm template … | cutover
// lint -). A Helm chart (a directory with a Chart.yaml, or a .tgz) or a
// Kustomize overlay (a directory with a kustomization file), given or met
// in a directory, is linted as what deploy would apply: rendered in process
// with the chart's own values, findings at the template's lines. It exits
// exitFindings when a finding is an error, 0 with only warnings, 2 when a
// file cannot be read or a chart or overlay does not render (every other
// chart and overlay is linted first, and its findings printed).
func cmdLint(c *cli, args []string) int {
	o, pos, ok := c.parse("lint", args)
	if !ok {
		return exitInvalid
	}
	if len(pos) == 0 {
		c.errorf("usage: cutover lint MANIFEST|DIR|CHART|OVERLAY|-…")
		return exitInvalid
	}
	var paths, rendered []string
	claim := func(p string) bool {
		if render.IsChart(p) || render.IsOverlay(p) {
			rendered = append(rendered, p)
			return true
		}
		return false
	}
	for _, p := range pos {
		if p == "-" {
			paths = append(paths, p)
			continue
		}
		if isTemplate(p) {
			c.errorf("%s is a template, not a manifest: %s", p, renderedAdvice(filepath.Dir(p), "it"))
			return exitInvalid
		}
		before := len(rendered)
		found, code := walkFiles(c, []string{p}, o.recursive, claim, ".yaml", ".yml", ".json")
		if code != exitOK {
			return code
		}
		if len(found) == 0 && len(rendered) == before {
			if note := pipelineDirNote(p); note != "" {
				c.errorf("%s: no .yaml, .yml or .json files in it; %s", p, note)
				return exitInvalid
			}
			c.errorf("%s: no .yaml, .yml or .json files in it, and no chart or overlay", p)
			return exitInvalid
		}
		paths = append(paths, found...)
	}
	srcs, err := lint.Read(paths, c.stdin)
	if err != nil {
		c.errorf("%v", err)
		return exitInvalid
	}
	var findings []lint.Finding
	if len(srcs) > 0 {
		findings = lint.Lint(srcs, lint.Options{})
	}
	// Each chart or overlay is one release's objects, linted on its own:
	// an overlay and its base, both met in a directory, would otherwise
	// make every Service select two copies of each workload. One that
	// does not render is said at its place and the others are linted
	// still: a directory of charts shows every broken one in one go.
	code := exitOK
	for _, p := range rendered {
		files, note, _, err := lint.RenderPath(p)
		if err != nil {
			c.errorf("%v", err)
			code = exitInvalid
			continue
		}
		if note != "" {
			fmt.Fprintf(c.stderr, "%s: %s\n", p, note)
		}
		for _, f := range lint.Rendered(nil, files, lint.Options{}) {
			// An overlay and its base report the base's lines once.
			if !slices.Contains(findings, f) {
				findings = append(findings, f)
			}
		}
	}
	if o.output == "json" {
		if findings == nil {
			findings = []lint.Finding{}
		}
		_ = json.NewEncoder(c.stdout).Encode(findings)
	} else {
		_ = lint.Format(c.stdout, findings)
		fmt.Fprintln(c.stdout, lint.Summary(findings))
	}
	// Input that could not be linted outranks findings: the verdict is
	// not complete.
	if errs, _ := lint.Count(findings); errs > 0 && code == exitOK {
		return exitFindings
	}
	return code
}
