// Package render turns Helm charts and Kustomize overlays into manifest
// texts in process: helm.sh/helm/v4's chart loader and template engine,
// sigs.k8s.io/kustomize/api's krusty, no helm or kustomize binary and no
// fetch of any kind (docs/design.md, "Charts and overlays"). deploy applies
// what it renders as it applies manifests; lint lints it under the names of
// the chart's template files.
package render

import (
	"fmt"
	"path/filepath"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/kube"
)

// Chart is the chart block of deploy and lint.
type Chart struct {
	// Path is a chart directory or a packaged chart (.tgz), relative to
	// the pipeline directory.
	Path string `hcl:"path,required"`
	// Release is the release name templates see as .Release.Name; the
	// chart's name when empty.
	Release string `hcl:"release"`
	// Values: value files (paths, relative to the pipeline directory) and
	// objects, merged in the order given over the chart's values.yaml; a
	// single object or path is a list of one.
	Values cty.Value `hcl:"values,type=dynamic"`
	// Workload is what the pipeline's later stages act on by name.
	Workload *Workload `hcl:"workload,block"`
}

// Workload is an object a chart or overlay must render because the stages
// after the deploy act on it by name and select its pods by label (a
// blue/green Service's selector, a canary's gate): deploy checks the
// rendered objects at load time, so a chart that names its Deployment
// otherwise, or ignores the pod labels it is given, stops the pipeline
// before it writes (docs/design.md, "Charts and overlays").
type Workload struct {
	Kind string `hcl:"kind,required"`
	Name string `hcl:"name,required"`
	// Labels the workload's pod template must carry.
	Labels map[string]string `hcl:"labels"`
	// Held says applying its template must replace no pod, because the
	// stages after the deploy roll it out themselves: a StatefulSet's
	// rolling update partition at or above its replicas (partition steps
	// it down), a DaemonSet's updateStrategy OnDelete (update_nodes
	// replaces its pods). A chart that ignores the strategy it is given,
	// or an overlay that sets none, would otherwise update every pod in
	// the deploy, before any gate.
	Held bool `hcl:"held"`
	// Namespace is the namespace the pipeline acts in ("" while not
	// known, before the run resolves it): a workload rendered into another
	// would be deployed there while the run, its lock and the later stages
	// look for it here. Set by the deploy, not by the pipeline.
	Namespace string
	// NameSuffix is what the deploy adds to an overlay's names (the
	// kustomize block's name_suffix), for the advice when a name differs.
	NameSuffix string
	// namespaceAt is where an overlay's kustomization sets its namespace,
	// the place to blame for a workload in another (RenderOverlay sets it).
	namespaceAt *Error
}

// Given reports whether the block names a chart. A block whose path is
// empty counts as absent, so one stage can take manifests, a chart or an
// overlay from variables and apply the one given (docs/design.md, "Charts
// and overlays").
func (c *Chart) Given() bool { return c != nil && c.Path != "" }

// GetWorkload is c's workload block, nil when c or the block is absent.
func (c *Chart) GetWorkload() *Workload {
	if c == nil {
		return nil
	}
	return c.Workload
}

// Absent names the chart and kustomize blocks that are written but count
// as absent (an empty path), for steps.Chooser.
func Absent(c *Chart, o *Overlay) []string {
	var out []string
	if c != nil && !c.Given() {
		out = append(out, "chart")
	}
	if o != nil && !o.Given() {
		out = append(out, "kustomize")
	}
	return out
}

// Overlay is the kustomize block of deploy and lint.
type Overlay struct {
	// Path is a directory holding a kustomization.yaml, relative to the
	// pipeline directory.
	Path string `hcl:"path,required"`
	// NameSuffix and Labels are added by a kustomization around the
	// overlay's (its nameSuffix, and labels with includeSelectors), so one
	// overlay makes the tracks a pipeline names after a version (APP-v2).
	NameSuffix string            `hcl:"name_suffix"`
	Labels     map[string]string `hcl:"labels"`
	Workload   *Workload         `hcl:"workload,block"`
}

// Given reports whether the block names an overlay; an empty path counts
// as absent, as for Chart.
func (o *Overlay) Given() bool { return o != nil && o.Path != "" }

// GetWorkload is o's workload block, nil when o or the block is absent.
func (o *Overlay) GetWorkload() *Workload {
	if o == nil {
		return nil
	}
	return o.Workload
}

// File is one rendered text: a chart template's output, or an overlay's
// build.
type File struct {
	// Name is where it comes from, relative to the pipeline directory:
	// charts/web/templates/deployment.yaml.
	Name string
	// Text is what was rendered.
	Text string
	// Template is the source Text was rendered from, to map a line of Text
	// back to it (Line); empty when Text is its own source.
	Template string
	// at maps each line of an overlay's objects to their source file (the
	// same key's line there), when kustomize told where they came from.
	at [][]anchor
}

// Error is a problem at a place in a file of a chart, an overlay or a
// values file. Line and Col are 1-based, 0 when unknown.
type Error struct {
	File      string // relative to the pipeline directory
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	switch {
	case e.Line <= 0:
		return e.File + ": " + e.Msg
	case e.Col <= 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Manifests parses rendered files into objects named after their files.
func Manifests(files []File) ([]kube.Manifest, error) {
	named := make([]kube.NamedText, len(files))
	for i, f := range files {
		named[i] = kube.NamedText{Name: f.Name, Text: f.Text}
	}
	return kube.ParseNamed(named)
}

// abs resolves a path of the pipeline against its directory.
func abs(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// rel is p as the user wrote it, joined with what follows inside it, with
// forward slashes.
func rel(base string, parts ...string) string {
	return filepath.ToSlash(filepath.Join(append([]string{base}, parts...)...))
}

// Docs describe the chart and kustomize blocks for the reference pages of
// the kinds that take them (deploy, lint).
var Docs = map[string]string{
	"chart":                     "A Helm chart rendered in process, as `helm template` does (no helm binary; dependencies must be vendored in its charts/ directory). Set one of manifests, chart or kustomize.",
	"chart.path":                "The chart: a directory or a packaged chart (.tgz), relative to the pipeline directory.",
	"chart.release":             "The release name templates see as `.Release.Name` (default: the chart's name); `.Release.Namespace` is the step's namespace.",
	"chart.values":              "Values over the chart's values.yaml, merged in order: a path is a values file (relative to the pipeline directory), an object is taken as is (`[\"values-prod.yaml\", { image = { tag = var.version } }]`).",
	"kustomize":                 "A Kustomize overlay built in process, as `kustomize build` does (no kustomize binary; remote bases are refused). Set one of manifests, chart or kustomize.",
	"kustomize.path":            "The directory holding the kustomization.yaml, relative to the pipeline directory.",
	"kustomize.name_suffix":     "Added to every object's name, as the kustomization's `nameSuffix` would (`\"-v2\"`: the Deployment `web` becomes `web-v2`, references follow). The overlay's own kustomization must not set nameSuffix.",
	"kustomize.labels":          "Labels added to every object, its selectors and pod templates, as the kustomization's `labels` with `includeSelectors` would. The overlay's own kustomization must not set labels.",
	"chart.workload":            "An object the chart must render, which later stages act on by name: deploy checks the rendered objects when the pipeline loads (exit 2 at the file at fault).",
	"chart.workload.kind":       "Its kind: Deployment, StatefulSet, DaemonSet, ReplicaSet.",
	"chart.workload.name":       "Its name (for a chart, usually the release).",
	"chart.workload.labels":     "Labels its pod template must carry (a chart takes them from values, e.g. `podLabels`).",
	"chart.workload.held":       "Applying its template must replace no pod, as the stages after the deploy roll it out: a StatefulSet with `updateStrategy` RollingUpdate and `rollingUpdate.partition` at or above its replicas (for `partition`), a DaemonSet with `updateStrategy: OnDelete` (for `update_nodes`). Default false.",
	"kustomize.workload":        "As chart.workload, for the overlay's objects.",
	"kustomize.workload.kind":   "Its kind.",
	"kustomize.workload.name":   "Its name, name_suffix included.",
	"kustomize.workload.labels": "Labels its pod template must carry.",
	"kustomize.workload.held":   "As chart.workload.held.",
}
