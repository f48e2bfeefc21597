package workloads

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/render"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// A deploy applies manifests, a Helm chart or a Kustomize overlay: the
// objects a chart or overlay renders to (in process, internal/render) go
// through the same apply, journal, undo and plan as manifests
// (docs/design.md, "Charts and overlays").

// sourceAttrs are the deploy block's inputs, of which one is set: a chart
// or kustomize block counts when its path is not empty
// (render.Chart.Given), so a stage can take any of them from variables.
var sourceAttrs = []string{"manifests", "chart.path", "kustomize.path"}

// checkSource says when a deploy names no input, or more than one.
func (dc *deployConfig) checkSource(u steps.Unknown) []steps.Problem {
	for _, a := range sourceAttrs {
		if u.Has(a) {
			return nil // may be the one, once known
		}
	}
	var set, said []string
	if dc.Manifests != nil {
		set, said = append(set, "manifests"), append(said, "manifests")
	}
	if dc.Chart.Given() {
		set, said = append(set, "chart"), append(said, fmt.Sprintf("a chart (path %q)", dc.Chart.Path))
	}
	if dc.Kustomize.Given() {
		set, said = append(set, "kustomize"), append(said, fmt.Sprintf("an overlay (kustomize path %q)", dc.Kustomize.Path))
	}
	switch len(set) {
	case 1:
		return nil
	case 0:
		return []steps.Problem{{Path: []string{"manifests"}, Summary: "Nothing to deploy",
			Detail: `set manifests (contents, e.g. [file("app.yaml")]), a chart block (a Helm chart) or a kustomize block (an overlay); a block whose path is empty counts as absent`}}
	}
	return []steps.Problem{{Path: []string{set[1]}, Summary: "Several inputs to deploy",
		Detail: fmt.Sprintf("a deploy applies one of manifests, a chart or an overlay; this one is given %s and %s: give one (in a ready pipeline, -var chart or -var overlay, not both)", said[0], said[1])}}
}

// Absent names a chart or kustomize block whose path is empty: a plan does
// not show it.
func (deployKind) Absent(cfg cty.Value) []string {
	dc := newDeployConfig()
	if _, err := steps.Decode(cfg, &dc); err != nil {
		return nil
	}
	return render.Absent(dc.Chart, dc.Kustomize)
}

// objects parses or renders the deploy's input, a chart's in namespace ns;
// note names what a chart rendered that is left out (its hooks), "" for
// nothing. acting is the namespace the run acts in, "" while it is not
// known: a workload block's workload rendered into another is refused.
func (dc *deployConfig) objects(dir, ns, acting string) (ms []kube.Manifest, note string, err error) {
	r, err := dc.render(dir, ns)
	if err != nil {
		return nil, "", err
	}
	if err := dc.checkWorkload(r, acting); err != nil {
		return nil, "", err
	}
	return r.ms, r.note, nil
}

// rendered is a deploy's input as parsed or rendered: a chart's or an
// overlay's files, and the objects they hold.
type rendered struct {
	files []render.File
	ms    []kube.Manifest
	note  string
}

// render parses or renders the deploy's input, a chart's in namespace ns
// (objects without the workload block's check).
func (dc *deployConfig) render(dir, ns string) (r rendered, err error) {
	if w := dc.Kustomize.GetWorkload(); w != nil {
		w.NameSuffix = dc.Kustomize.NameSuffix
	}
	switch {
	case dc.Chart.Given():
		if r.files, err = render.RenderChart(dir, *dc.Chart, ns); err != nil {
			return r, fmt.Errorf("chart: %w", err)
		}
		r.files, r.note = render.LeaveOutHooks(r.files)
		if r.ms, err = render.Manifests(r.files); err != nil {
			return r, fmt.Errorf("chart %s renders what does not parse: %w", dc.Chart.Path, err)
		}
		return r, nil
	case dc.Kustomize.Given():
		if r.files, err = render.RenderOverlay(dir, *dc.Kustomize); err != nil {
			return r, fmt.Errorf("kustomize: %w", err)
		}
		r.ms, err = render.Manifests(r.files)
		return r, err
	}
	r.ms, err = kube.ParseManifests(dc.Manifests)
	return r, err
}

// checkWorkload checks r, a chart's or an overlay's, against the workload
// block, which says in what namespace the run acts (acting, "" while not
// known).
func (dc *deployConfig) checkWorkload(r rendered, acting string) error {
	for _, w := range []*render.Workload{dc.Chart.GetWorkload(), dc.Kustomize.GetWorkload()} {
		if w != nil {
			w.Namespace = acting
		}
	}
	switch {
	case dc.Chart.Given():
		return dc.Chart.Workload.Check("chart "+dc.Chart.Path, r.files, r.ms)
	case dc.Kustomize.Given():
		return dc.Kustomize.Workload.Check("overlay "+dc.Kustomize.Path, r.files, r.ms)
	}
	return nil
}

// Render is what the deploy would apply, its images overridden, for plan
// --show-manifests.
func (deployKind) Render(dir, ns string, cfg cty.Value) ([]kube.Manifest, error) {
	dc := newDeployConfig()
	if _, err := steps.Decode(cfg, &dc); err != nil {
		return nil, err
	}
	acting := dc.Namespace
	if acting == "" {
		acting = ns
	}
	ms, _, err := dc.objects(dir, kube.NamespaceOf(nil, dc.Namespace, ns), acting)
	if err != nil {
		return nil, err
	}
	return ms, overrideImages(ms, dc.Images)
}

// CheckFiles renders a chart or an overlay at load time, once its values
// are known, so a chart that does not render, a values file that does not
// parse or an overlay naming a remote base stops the pipeline before it
// writes, at the file and line at fault. A chart is rendered for the
// deploy's namespace, else the pipeline's (ns), as a run renders it unless
// --namespace or the kubeconfig's says otherwise. Without a namespace of
// its own, the rest of the check waits for the one the run acts in: a
// workload rendered into another (an overlay's own namespace:) stops the
// run before the lock is taken. It reuses the load's render where the
// namespace does not change it: an overlay's, a chart's rendered for it.
func (deployKind) CheckFiles(dir, ns string, cfg cty.Value) ([]steps.Problem, func(ns string) []steps.Problem) {
	dc := newDeployConfig()
	u, err := steps.Decode(cfg, &dc)
	if err != nil || u.Any() || (!dc.Chart.Given() && !dc.Kustomize.Given()) {
		return nil, nil
	}
	chart := dc.Chart.Given()
	renderedIn := kube.NamespaceOf(nil, dc.Namespace, ns)
	r, err := dc.render(dir, renderedIn)
	if err == nil {
		err = dc.checkWorkload(r, dc.Namespace)
	}
	if err != nil || dc.Namespace != "" {
		// Acting in its own namespace, the deploy was checked in it.
		return sourceProblems(dir, err, chart), nil
	}
	return nil, func(acting string) []steps.Problem {
		in, err := r, error(nil)
		if chart && acting != renderedIn {
			// A chart's templates may read .Release.Namespace.
			in, err = dc.render(dir, acting)
		}
		if err == nil {
			err = dc.checkWorkload(in, acting)
		}
		return sourceProblems(dir, err, chart)
	}
}

// sourceProblems turns a render error into a problem placed in the chart's
// or overlay's file when it names one, else on the block.
func sourceProblems(dir string, err error, chart bool) []steps.Problem {
	if err == nil {
		return nil
	}
	block := "kustomize"
	summary := "Invalid overlay"
	if chart {
		block, summary = "chart", "Invalid chart"
	}
	p := steps.Problem{Path: []string{block, "path"}, Summary: summary, Detail: err.Error()}
	var re *render.Error
	var vp *render.ValuesProblem
	var rp *render.ReleaseProblem
	switch {
	case errors.As(err, &re) && re.Line > 0:
		col := max(re.Col, 1)
		p.Subject = &hcl.Range{Filename: inDir(dir, re.File),
			Start: hcl.Pos{Line: re.Line, Column: col}, End: hcl.Pos{Line: re.Line, Column: col + 1}}
		p.Detail = re.Msg
	case errors.As(err, &vp):
		p.Path, p.Summary = []string{block, "values"}, "Invalid values"
	case errors.As(err, &rp):
		p.Path, p.Summary = []string{block, "release"}, "Invalid release"
	}
	return []steps.Problem{p}
}

// inDir is a file a render error names (relative to the pipeline
// directory, or absolute when the chart or overlay path was) as a path the
// user can open.
func inDir(dir, file string) string {
	f := filepath.FromSlash(file)
	if filepath.IsAbs(f) {
		return f
	}
	return filepath.Join(dir, f)
}
