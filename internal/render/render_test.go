package render

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

// dir is the repository's testdata, as a pipeline directory.
const dir = "../../testdata"

func names(fs []File) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

func TestRenderChart(t *testing.T) {
	vals := cty.TupleVal([]cty.Value{
		cty.ObjectVal(map[string]cty.Value{"image": cty.ObjectVal(map[string]cty.Value{"tag": cty.StringVal("v2")})}),
		cty.ObjectVal(map[string]cty.Value{"replicas": cty.NumberIntVal(3)}),
	})
	files, err := RenderChart(dir, Chart{Path: "charts/web", Release: "shop", Values: vals}, "team-a")
	if err != nil {
		t.Fatal(err)
	}
	want := "charts/web/templates/configmap.yaml charts/web/templates/deployment.yaml charts/web/templates/service.yaml charts/web/templates/tests/test-connection.yaml"
	if got := strings.Join(names(files), " "); got != want {
		t.Fatalf("files = %s\nwant    %s (no NOTES.txt, no partials)", got, want)
	}
	kept, note := LeaveOutHooks(files)
	if !strings.Contains(note, "Pod shop-test (test)") {
		t.Fatalf("note %q does not name the test hook", note)
	}
	if n := strings.Count(kept[3].Text, "\n"); n != strings.Count(files[3].Text, "\n") || strings.TrimSpace(kept[3].Text) != "" {
		t.Errorf("the hook's file is not blanked line for line:\n%s", kept[3].Text)
	}
	if kept[1].Text != files[1].Text {
		t.Errorf("a file without hooks changed")
	}
	ms, err := Manifests(kept)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("after hooks: %d objects, want 3", len(ms))
	}
	dep := ms[1].Object
	if dep.GetName() != "shop" || dep.GetLabels()["chart"] != "web-0.1.0" {
		t.Errorf("deployment = %s labels %v", dep.GetName(), dep.GetLabels())
	}
	if r, _, _ := unstructuredInt(dep.Object, "spec", "replicas"); r != 3 {
		t.Errorf("replicas = %d, want 3 (the second values object)", r)
	}
	if !strings.Contains(files[1].Text, `image: "bebullish/demo:v2"`) {
		t.Errorf("the first values object did not set the tag:\n%s", files[1].Text)
	}
	if ms[1].Source != "charts/web/templates/deployment.yaml, document 1" {
		t.Errorf("source = %q", ms[1].Source)
	}
}

func TestRenderChartValuesInOrder(t *testing.T) {
	tmp := t.TempDir()
	os.WriteFile(filepath.Join(tmp, "prod.yaml"), []byte("color: red\nreplicas: 5\n"), 0o600)
	vals := cty.TupleVal([]cty.Value{cty.StringVal(filepath.Join(tmp, "prod.yaml")),
		cty.ObjectVal(map[string]cty.Value{"color": cty.StringVal("green")})})
	files, err := RenderChart(dir, Chart{Path: "charts/web", Values: vals}, "default")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(files[0].Text, `color: "green"`) || !strings.Contains(files[1].Text, "replicas: 5") {
		t.Errorf("values not merged in order (file, then object):\n%s\n%s", files[0].Text, files[1].Text)
	}
	if !strings.Contains(files[1].Text, "name: web\n") {
		t.Errorf("release name is not the chart's name by default:\n%s", files[1].Text)
	}
}

// A null in a later layer removes the chart's default, as with helm -f
// (docs/language.md, "Charts and overlays").
func TestRenderChartNullRemovesDefault(t *testing.T) {
	vals := cty.ObjectVal(map[string]cty.Value{"readiness": cty.NullVal(cty.Bool)})
	files, err := RenderChart(dir, Chart{Path: "charts/web", Values: vals}, "default")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(files[1].Text, "kind: Deployment") || strings.Contains(files[1].Text, "readinessProbe") {
		t.Errorf("a null readiness left the default (true) in place:\n%s", files[1].Text)
	}
}

func TestRenderChartErrors(t *testing.T) {
	tmp := t.TempDir()
	chart := func(files map[string]string) string {
		d, _ := os.MkdirTemp(tmp, "chart")
		for n, s := range files {
			os.MkdirAll(filepath.Dir(filepath.Join(d, n)), 0o700)
			os.WriteFile(filepath.Join(d, n), []byte(s), 0o600)
		}
		return d
	}
	meta := "apiVersion: v2\nname: bad\nversion: 0.1.0\n"
	for _, tc := range []struct {
		name      string
		files     map[string]string
		vals      cty.Value
		file      string
		line, col int
		msg       string
	}{
		{"unclosed action", map[string]string{"Chart.yaml": meta, "templates/a.yaml": "kind: ConfigMap\nmetadata:\n  name: {{ .Values.x \n"},
			cty.NilVal, "templates/a.yaml", 3, 9, "unclosed action"},
		{"undefined function", map[string]string{"Chart.yaml": meta, "templates/a.yaml": "a: 1\nb: {{ .Values.a }}-{{ nosuchfunc .Values.x }}\n"},
			cty.NilVal, "templates/a.yaml", 2, 23, `function "nosuchfunc" not defined`},
		{"misplaced end", map[string]string{"Chart.yaml": meta, "templates/a.yaml": "a: 1\nb: {{ .Values.a }} {{- end }}\n"},
			cty.NilVal, "templates/a.yaml", 2, 20, "unexpected {{end}}"},
		{"required", map[string]string{"Chart.yaml": meta, "templates/a.yaml": "a: 1\nb: {{ required \"x is required\" .Values.x }}\n"},
			cty.NilVal, "templates/a.yaml", 2, 7, "x is required"},
		{"exec in a partial", map[string]string{"Chart.yaml": meta, "templates/_h.tpl": "{{ define \"h\" }}\n  {{ .x.y }}\n{{ end }}\n",
			"templates/a.yaml": "a: {{ include \"h\" .Values }}\n"},
			cty.NilVal, "templates/_h.tpl", 2, 8, "nil pointer"},
		{"Chart.yaml", map[string]string{"Chart.yaml": "apiVersion: v2\nname: [bad\n"}, cty.NilVal, "Chart.yaml", 2, 0, "Chart.yaml"},
		{"missing dependency", map[string]string{"Chart.yaml": meta + "dependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.com\n"},
			cty.NilVal, "Chart.yaml", 5, 5, "cutover fetches nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := chart(tc.files)
			_, err := RenderChart("", Chart{Path: d, Values: tc.vals}, "default")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if e.File != filepath.ToSlash(filepath.Join(d, tc.file)) || e.Line != tc.line || (tc.col > 0 && e.Col != tc.col) || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("err = %s:%d:%d %s\nwant %s:%d:%d … %s", e.File, e.Line, e.Col, e.Msg, tc.file, tc.line, tc.col, tc.msg)
			}
			// The place is said once, by the Error: a position in the
			// message too reads as a second column.
			if m := templatePos.FindString(e.Msg); m != "" {
				t.Errorf("message %q repeats a position (%s)", e.Msg, m)
			}
		})
	}
}

func TestRenderChartBadValuesFile(t *testing.T) {
	tmp := t.TempDir()
	p := filepath.Join(tmp, "v.yaml")
	os.WriteFile(p, []byte("a: 1\nb: [x\n"), 0o600)
	_, err := RenderChart(dir, Chart{Path: "charts/web", Values: cty.StringVal(p)}, "default")
	var e *Error
	if !errors.As(err, &e) || e.File != p || e.Line == 0 {
		t.Fatalf("err = %#v", err)
	}
	_, err = RenderChart(dir, Chart{Path: "charts/web", Values: cty.TupleVal([]cty.Value{cty.True})}, "default")
	var vp *ValuesProblem
	if !errors.As(err, &vp) || vp.Index != 0 {
		t.Fatalf("err = %v, want a ValuesProblem at 0", err)
	}
}

func TestRenderOverlay(t *testing.T) {
	files, err := RenderOverlay(dir, Overlay{Path: "overlays/web/staging"})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Manifests(files)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Object.GetKind()+"/"+m.Object.GetName())
	}
	if s := strings.Join(got, " "); !strings.Contains(s, "Deployment/staging-web") || !strings.Contains(s, "Service/staging-web") || !strings.Contains(s, "ConfigMap/staging-web-config-") {
		t.Errorf("objects = %s", s)
	}
	if !strings.Contains(files[0].Text, "image: bebullish/demo:v2") || !strings.Contains(files[0].Text, "replicas: 2") {
		t.Errorf("overlay not applied:\n%s", files[0].Text)
	}
}

func TestRenderOverlayRefusesRemote(t *testing.T) {
	tmp := t.TempDir()
	os.WriteFile(filepath.Join(tmp, "kustomization.yaml"), []byte("namePrefix: x-\nresources:\n  - ../base\n  - https://github.com/example/repo//deploy?ref=v1\n"), 0o600)
	os.MkdirAll(filepath.Join(tmp, "..", "base"), 0o700)
	_, err := RenderOverlay("", Overlay{Path: tmp})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	// ../base has no kustomization: that is the first problem, at line 3.
	if e.Line != 3 || e.Col != 5 {
		t.Errorf("err = %v, want line 3 col 5", e)
	}
	os.WriteFile(filepath.Join(tmp, "kustomization.yaml"), []byte("resources:\n  - github.com/example/repo/deploy?ref=v1\n"), 0o600)
	_, err = RenderOverlay("", Overlay{Path: tmp})
	if !errors.As(err, &e) || e.Line != 2 || !strings.Contains(e.Msg, "fetches nothing") {
		t.Errorf("err = %v", err)
	}
}

func TestLineMapsToTemplate(t *testing.T) {
	files, err := RenderChart(dir, Chart{Path: "charts/web"}, "default")
	if err != nil {
		t.Fatal(err)
	}
	f := files[1] // deployment.yaml
	lines := strings.Split(f.Text, "\n")
	find := func(s string) int {
		for i, l := range lines {
			if strings.Contains(l, s) {
				return i + 1
			}
		}
		t.Fatalf("%q not rendered", s)
		return 0
	}
	tpl := strings.Split(f.Template, "\n")
	tfind := func(s string) int {
		for i, l := range tpl {
			if strings.Contains(l, s) {
				return i + 1
			}
		}
		return 0
	}
	for _, s := range []string{"- name: web", "image: ", "maxUnavailable: 0"} {
		if got, _ := f.Line(find(s), 1); got != tfind(s) {
			t.Errorf("%q: template line %d, want %d", s, got, tfind(s))
		}
	}
	if got, _ := f.Line(find("chart: web-0.1.0"), 1); got != 0 {
		t.Errorf("a line from an include mapped to %d, want 0 (unknown)", got)
	}
}

func unstructuredInt(m map[string]any, path ...string) (int64, bool, error) {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return 0, false, nil
		}
		cur = mm[p]
	}
	n, ok := cur.(int64)
	return n, ok, nil
}

// pack saves the chart directory src as a packaged chart (NAME-VERSION.tgz,
// as `helm package` writes it) in a temporary directory.
func pack(t *testing.T, src string) string {
	t.Helper()
	ch, err := loader.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A packaged chart renders as its directory does; files are named inside
// the archive, and lines still map to the templates in it.
func TestRenderPackagedChart(t *testing.T) {
	tgz := pack(t, filepath.Join(dir, "charts/web"))
	if filepath.Base(tgz) != "web-0.1.0.tgz" {
		t.Fatalf("packaged as %s", tgz)
	}
	vals := cty.ObjectVal(map[string]cty.Value{"image": cty.ObjectVal(map[string]cty.Value{"tag": cty.StringVal("v3")})})
	files, err := RenderChart("", Chart{Path: tgz, Release: "shop", Values: vals}, "team-a")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{tgz + ":web/templates/configmap.yaml", tgz + ":web/templates/deployment.yaml", tgz + ":web/templates/service.yaml", tgz + ":web/templates/tests/test-connection.yaml"}
	if got := names(files); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("files = %v\nwant %v", got, want)
	}
	kept, _ := LeaveOutHooks(files)
	ms, err := Manifests(kept)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[1].Object.GetName() != "shop" || !strings.Contains(files[1].Text, `image: "bebullish/demo:v3"`) {
		t.Fatalf("%d objects, deployment %q:\n%s", len(ms), ms[1].Object.GetName(), files[1].Text)
	}
	lines := strings.Split(files[1].Text, "\n")
	for i, l := range lines {
		if strings.Contains(l, "image: ") {
			if got, _ := files[1].Line(i+1, 1); got == 0 || !strings.Contains(lineAt(files[1].Template, got), "image: ") {
				t.Errorf("rendered line %d (%q) maps to template line %d", i+1, l, got)
			}
		}
	}
}

// A template error inside a packaged chart names the archive, the file in
// it, the line and the column.
func TestRenderPackagedChartError(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "templates"), 0o700)
	os.WriteFile(filepath.Join(src, "Chart.yaml"), []byte("apiVersion: v2\nname: bad\nversion: 0.2.0\n"), 0o600)
	os.WriteFile(filepath.Join(src, "templates", "a.yaml"), []byte("a: 1\nb: {{ nosuchfunc .Values.x }}\n"), 0o600)
	tgz := pack(t, src)
	_, err := RenderChart("", Chart{Path: tgz}, "default")
	var e *Error
	if !errors.As(err, &e) || e.File != tgz+":bad/templates/a.yaml" || e.Line != 2 || e.Col != 7 {
		t.Fatalf("err = %v, want %s:bad/templates/a.yaml:2:7", err, tgz)
	}
}

// An overlay's objects are named after the file each came from, without
// the origin annotation kustomize was asked for, and their lines map to the
// same key in that file; a key the overlay added maps to its nearest
// ancestor there.
func TestOverlayOrigins(t *testing.T) {
	files, err := RenderOverlay(dir, Overlay{Path: "overlays/demo/prod"})
	if err != nil {
		t.Fatal(err)
	}
	want := "overlays/demo/base/deployment.yaml overlays/demo/base/service.yaml"
	if got := strings.Join(names(files), " "); got != want {
		t.Fatalf("files = %s, want %s", got, want)
	}
	for _, f := range files {
		if strings.Contains(f.Text, "config.kubernetes.io/origin") || strings.Contains(f.Text, "buildMetadata") {
			t.Errorf("%s keeps the build's metadata:\n%s", f.Name, f.Text)
		}
	}
	src, err := os.ReadFile(filepath.Join(dir, "overlays/demo/base/deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	at := func(text, s string) (int, int) {
		for i, l := range strings.Split(text, "\n") {
			if c := strings.Index(l, s); c >= 0 {
				return i + 1, c + 1
			}
		}
		t.Fatalf("%q not in\n%s", s, text)
		return 0, 0
	}
	dep := files[0]
	for _, tc := range []struct{ rendered, source string }{
		// kustomize sorts keys: the container's line is its image's, and
		// at the container's column it is the container.
		{"image: bebullish/demo:v1", "- name: demo"},
		{"name: demo", "name: demo"},
		{"readinessProbe:", "readinessProbe:"},
		{"replicas: 2", "replicas: 1"}, // set by the overlay, at the base's key
		{"team: shop", "metadata:"},    // added by the overlay: the base's metadata
	} {
		l, c := at(dep.Text, tc.rendered)
		wl, wc := at(string(src), tc.source)
		if strings.HasPrefix(tc.source, "- ") {
			wc += 2 // the item: its mapping's column
		}
		if gl, gc := dep.Line(l, c); gl != wl || gc != wc {
			t.Errorf("%q at %d:%d maps to %d:%d, want %d:%d (%q)", tc.rendered, l, c, gl, gc, wl, wc, tc.source)
		}
	}
	// A generated object comes from the kustomization that generates it.
	files, err = RenderOverlay(dir, Overlay{Path: "overlays/web/staging"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(files), " "); got != "overlays/web/base/deployment.yaml overlays/web/base/service.yaml overlays/web/staging/kustomization.yaml" {
		t.Errorf("files = %s", got)
	}
}

// Paths that lead nowhere say where they were looked for; a file given as
// a chart is not read as an archive; a values file that cannot be read is
// the values attribute's problem.
func TestRenderPathMistakes(t *testing.T) {
	abs, _ := filepath.Abs(dir)
	_, err := RenderChart(abs, Chart{Path: "../charts/demo"}, "default")
	if err == nil || !strings.Contains(err.Error(), "looked for "+filepath.Join(abs, "../charts/demo")) ||
		!strings.Contains(err.Error(), "a relative path is read from the pipeline directory, "+abs) {
		t.Errorf("missing chart: %v", err)
	}
	_, err = RenderOverlay(abs, Overlay{Path: "overlays/nope"})
	if err == nil || !strings.Contains(err.Error(), "looked for "+filepath.Join(abs, "overlays/nope")) {
		t.Errorf("missing overlay: %v", err)
	}
	_, err = RenderChart(abs, Chart{Path: "charts/demo/values.yaml"}, "default")
	if err == nil || !strings.Contains(err.Error(), "this is a file") || strings.Contains(err.Error(), "values.yaml/values.yaml") {
		t.Errorf("a values file as the chart: %v", err)
	}
	_, err = RenderChart(abs, Chart{Path: "charts/demo", Values: cty.TupleVal([]cty.Value{cty.StringVal("nope.yaml")})}, "default")
	var vp *ValuesProblem
	if !errors.As(err, &vp) || vp.Index != 0 || !strings.Contains(vp.Msg, "looked for "+filepath.Join(abs, "nope.yaml")) {
		t.Errorf("missing values file: %v", err)
	}
}
