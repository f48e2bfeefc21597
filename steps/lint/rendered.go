package lint

import (
	"errors"
	"fmt"

	"github.com/cutoverhq/cutover/internal/render"
	"github.com/cutoverhq/cutover/steps"
)

// renderSources renders the lint block's chart or overlay as deploy does,
// Helm hooks left out, so what is linted is what would be applied
// (docs/design.md, "Charts and overlays"). note names the hooks left out,
// "" for none.
func renderSources(env *steps.Env, c config) (out []render.File, note string, err error) {
	dir, ns := "", env.NamespaceFor("", nil)
	if env != nil {
		dir = env.Dir
	}
	if c.Chart.Given() {
		files, err := render.RenderChart(dir, *c.Chart, ns)
		if err != nil {
			return nil, "", fmt.Errorf("lint: chart: %w", err)
		}
		// What deploy leaves out is not linted either.
		files, note = render.LeaveOutHooks(files)
		out = append(out, files...)
	}
	if c.Kustomize.Given() {
		files, err := render.RenderOverlay(dir, *c.Kustomize)
		if err != nil {
			return nil, "", fmt.Errorf("lint: kustomize: %w", err)
		}
		out = append(out, files...)
	}
	return out, note, nil
}

// Rendered lints manifest sources together with rendered files, as one
// set: findings in a rendered text are moved to its template's lines.
func Rendered(srcs []Source, rendered []render.File, opt Options) []Finding {
	for _, f := range rendered {
		srcs = append(srcs, Source{Name: f.Name, Data: []byte(f.Text)})
	}
	return toTemplates(Lint(srcs, opt), rendered)
}

// RenderPath renders the chart (a directory with a Chart.yaml, or a .tgz)
// or the overlay (a directory with a kustomization file) at path, as the
// lint step and deploy do: a chart with its own values (values.yaml), the
// release named after the chart, in namespace "default", hooks left out.
// ok is false when path is neither; note names the hooks left out.
func RenderPath(path string) (files []render.File, note string, ok bool, err error) {
	var c config
	switch {
	case render.IsChart(path):
		c.Chart = &render.Chart{Path: path}
	case render.IsOverlay(path):
		c.Kustomize = &render.Overlay{Path: path}
	default:
		return nil, "", false, nil
	}
	files, note, err = renderSources(nil, c)
	// A problem at a place in the chart or overlay is said from its
	// place, as a diagnostic (file:line:col: …).
	var re *render.Error
	if errors.As(err, &re) && re.Line > 0 {
		err = re
	}
	return files, note, true, err
}

// toTemplates moves findings in rendered text to the template line that
// shows the rendered line (render.File.Line); a line the template does not
// show (made by an include or a range) leaves the finding on the file
// alone, with no line.
func toTemplates(fs []Finding, rendered []render.File) []Finding {
	byName := make(map[string]render.File, len(rendered))
	for _, f := range rendered {
		byName[f.Name] = f
	}
	for i, f := range fs {
		if r, ok := byName[f.File]; ok && f.Line > 0 {
			fs[i].Line, fs[i].Col = r.Line(f.Line, f.Col)
		}
	}
	return fs
}
