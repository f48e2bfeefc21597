package render

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
)

// RenderChart renders a chart as `helm template` does, with the default
// capabilities (no cluster is asked; `lookup` finds nothing), for a first
// install (.Release.IsInstall, revision 1) in namespace. It returns the
// chart's CRDs (crds/) then its templates in file order, without NOTES.txt,
// partials and files that render empty. Dependencies must be vendored in
// the chart's charts/ directory: nothing is fetched.
func RenderChart(dir string, c Chart, namespace string) ([]File, error) {
	ch, err := loadChart(dir, c.Path)
	if err != nil {
		return nil, err
	}
	if err := vendored(dir, c.Path, ch); err != nil {
		return nil, err
	}
	layers, err := values(dir, c.Values)
	if err != nil {
		return nil, err
	}
	vals := map[string]any{}
	for _, l := range layers {
		vals = loader.MergeMaps(vals, l)
	}
	release := c.Release
	if release == "" {
		release = ch.Name()
	}
	if err := chartutil.ValidateReleaseName(release); err != nil {
		return nil, &ReleaseProblem{Msg: fmt.Sprintf("release name %q: %v", release, err)}
	}
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return nil, &ValuesProblem{Index: -1, Msg: err.Error()}
	}
	top, err := commonutil.ToRenderValuesWithSchemaValidation(ch, vals,
		common.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}, nil, false)
	if err != nil {
		return nil, &ValuesProblem{Index: -1, Msg: err.Error()}
	}
	out, err := engine.Render(ch, top)
	if err != nil {
		return nil, templateError(c.Path, ch, err)
	}
	sources := templateSources(ch)
	var files []File
	for _, crd := range ch.CRDObjects() {
		files = append(files, File{Name: diskName(c.Path, ch.Name(), crd.Filename), Text: string(crd.File.Data)})
	}
	names := make([]string, 0, len(out))
	for n, text := range out {
		base := path.Base(n)
		if strings.HasSuffix(n, "NOTES.txt") || strings.HasPrefix(base, "_") || strings.TrimSpace(text) == "" {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, File{Name: diskName(c.Path, ch.Name(), n), Text: out[n], Template: sources[n]})
	}
	return files, nil
}

// ReleaseProblem is a release name Helm refuses.
type ReleaseProblem struct{ Msg string }

func (p *ReleaseProblem) Error() string { return p.Msg }

// ChartValuesOf says whether v (the values attribute) is known enough to
// render: unknown values leave the render to the run.
func ChartValuesOf(v cty.Value) bool {
	return v == cty.NilVal || v.IsWhollyKnown()
}

func loadChart(dir, p string) (*chart.Chart, error) {
	full := abs(dir, p)
	st, err := os.Stat(full)
	if err != nil {
		return nil, &Error{File: p, Msg: "no chart here: " + missing(dir, p, err)}
	}
	if !st.IsDir() && !strings.HasSuffix(p, ".tgz") && !strings.HasSuffix(p, ".tar.gz") {
		return nil, &Error{File: p, Msg: "a chart is a directory holding Chart.yaml, or a packaged .tgz; this is a file " +
			"(a values file goes in the chart's values, chart_values in a ready pipeline)"}
	}
	ch, err := loader.Load(full)
	if err != nil {
		return nil, loadError(p, err)
	}
	return ch, nil
}

// loadError places a loader error in the file it names (Chart.yaml,
// values.yaml) at the line the YAML parser gave.
func loadError(p string, err error) error {
	msg := err.Error()
	for _, f := range []string{"Chart.yaml", "values.yaml", "Chart.lock", "requirements.yaml"} {
		if strings.Contains(msg, f) {
			e := yamlError(rel(p, f), err)
			e.Msg = msg
			if strings.HasSuffix(p, ".tgz") {
				e.File = p
			}
			return e
		}
	}
	return &Error{File: p, Msg: "not a chart: " + msg}
}

// vendored refuses a chart whose Chart.yaml lists a dependency its charts/
// directory does not hold: rendering without it would drop its objects, and
// cutover fetches nothing.
func vendored(dir, p string, ch *chart.Chart) error {
	have := map[string]bool{}
	for _, d := range ch.Dependencies() {
		have[d.Name()] = true
	}
	for _, d := range ch.Metadata.Dependencies {
		if have[d.Name] {
			continue
		}
		e := &Error{File: rel(p, "Chart.yaml"), Msg: fmt.Sprintf(
			"dependency %q (repository %q) is not in the chart's charts/ directory; cutover fetches nothing: vendor it (helm dependency build) and commit charts/",
			d.Name, d.Repository)}
		if !strings.HasSuffix(p, ".tgz") {
			e.Line, e.Col = lineOf(abs(dir, rel(p, "Chart.yaml")), "name: "+d.Name)
		} else {
			e.File = p
		}
		return e
	}
	return nil
}

// lineOf is the line and column of the first line of a file that holds s.
func lineOf(file, s string) (int, int) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, 0
	}
	for i, l := range strings.Split(string(b), "\n") {
		if c := strings.Index(l, s); c >= 0 {
			return i + 1, c + 1
		}
	}
	return 0, 0
}

// templateSources maps each template's render name (web/templates/x.yaml,
// web/charts/db/templates/y.yaml) to its source.
func templateSources(ch *chart.Chart) map[string]string {
	out := map[string]string{}
	var walk func(*chart.Chart)
	walk = func(c *chart.Chart) {
		for _, t := range c.Templates {
			out[path.Join(c.ChartFullPath(), t.Name)] = string(t.Data)
		}
		for _, d := range c.Dependencies() {
			walk(d)
		}
	}
	walk(ch)
	return out
}

// diskName turns a render name (web/templates/x.yaml) into the file's path
// as the pipeline names it (charts/web/templates/x.yaml); inside a packaged
// chart, the archive and the name in it (web-1.0.0.tgz:web/templates/x.yaml).
func diskName(p, name, n string) string {
	if strings.HasSuffix(p, ".tgz") {
		return p + ":" + n
	}
	return rel(p, strings.TrimPrefix(n, name+"/"))
}
