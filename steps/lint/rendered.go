package lint

import (
	"fmt"

	"github.com/cutoverhq/cutover/internal/render"
	"github.com/cutoverhq/cutover/steps"
)

// renderSources renders the lint block's chart or overlay as deploy does,
// Helm hooks left out, so what is linted is what would be applied (docs/design.md, "Charts and
// overlays").
func renderSources(env *steps.Env, c config) ([]render.File, error) {
	dir, ns := "", env.NamespaceFor("", nil)
	if env != nil {
		dir = env.Dir
	}
	var out []render.File
	if c.Chart.Given() {
		files, err := render.RenderChart(dir, *c.Chart, ns)
		if err != nil {
			return nil, fmt.Errorf("lint: chart: %w", err)
		}
		// What deploy leaves out is not linted either.
		files, note := render.LeaveOutHooks(files)
		if note != "" && env != nil {
			env.Report(note)
		}
		out = append(out, files...)
	}
	if c.Kustomize.Given() {
		files, err := render.RenderOverlay(dir, *c.Kustomize)
		if err != nil {
			return nil, fmt.Errorf("lint: kustomize: %w", err)
		}
		out = append(out, files...)
	}
	return out, nil
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
