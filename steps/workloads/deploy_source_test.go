package workloads

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// One deploy body takes manifests, a chart or an overlay from variables, as
// the ready pipelines do: an empty path is no chart (or no overlay), two
// inputs given are one problem naming both, none given is another, and an
// input not known yet is left to the run.
func TestDeploySourceFromVariables(t *testing.T) {
	body := `
manifests = var.chart == "" && var.overlay == "" ? ["kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\n"] : null
chart {
  path   = var.chart
  values = [{ replicaCount = 2 }]
}
kustomize {
  path = var.overlay
}
`
	for _, tc := range []struct {
		chart, overlay cty.Value
		want           string // the problem's summary and a part of its detail; "" for none
	}{
		{cty.StringVal(""), cty.StringVal(""), ""},
		{cty.StringVal("charts/web"), cty.StringVal(""), ""},
		{cty.StringVal(""), cty.StringVal("overlays/web/staging"), ""},
		{cty.StringVal("charts/web"), cty.StringVal("overlays/web/staging"),
			`Several inputs to deploy: a deploy applies one of manifests, a chart or an overlay; this one is given a chart (path "charts/web") and an overlay (kustomize path "overlays/web/staging")`},
		{cty.UnknownVal(cty.String), cty.StringVal("overlays/web/staging"), ""},
	} {
		cfg := permCfg(t, deployKind{}, body, map[string]cty.Value{"chart": tc.chart, "overlay": tc.overlay})
		ps := deployKind{}.Check(cfg)
		got := ""
		if len(ps) > 0 {
			got = ps[0].Summary + ": " + ps[0].Detail
		}
		if (tc.want == "") != (got == "") || !strings.HasPrefix(got, tc.want) {
			t.Errorf("chart=%#v overlay=%#v: problem %q, want %q", tc.chart, tc.overlay, got, tc.want)
		}
	}
	empty := permCfg(t, deployKind{}, "chart {\n  path = \"\"\n}\n", nil)
	if ps := (deployKind{}).Check(empty); len(ps) != 1 || ps[0].Summary != "Nothing to deploy" || !strings.Contains(ps[0].Detail, "empty counts as absent") {
		t.Errorf("a chart block with an empty path: %v", ps)
	}
}

// A template error is placed in the chart's own file, whether the chart's
// path is relative to the pipeline directory or absolute (an absolute path
// was joined to the pipeline directory, naming a file that does not exist).
func TestDeploySourceErrorAtChartFile(t *testing.T) {
	root := t.TempDir()
	chart := filepath.Join(root, "charts", "web")
	if err := os.MkdirAll(filepath.Join(chart, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"Chart.yaml":               "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name | nosuch }}\n",
	} {
		if err := os.WriteFile(filepath.Join(chart, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pipelineDir := filepath.Join(root, "pipeline")
	for _, path := range []string{"../charts/web", chart} {
		cfg := permCfg(t, deployKind{}, "chart {\n  path = var.chart\n}\n", map[string]cty.Value{"chart": cty.StringVal(path)})
		ps, _ := deployKind{}.CheckFiles(pipelineDir, "", cfg)
		if len(ps) != 1 || ps[0].Subject == nil {
			t.Fatalf("chart %s: %v", path, ps)
		}
		s := ps[0].Subject
		want := filepath.Join(chart, "templates", "configmap.yaml")
		if filepath.Clean(s.Filename) != want || s.Start.Line != 4 || s.Start.Column != 28 {
			t.Errorf("chart %s: at %s:%d:%d, want %s:4:28 (the undefined function)", path, s.Filename, s.Start.Line, s.Start.Column, want)
		}
	}
}

// The rest of a deploy's load-time check, once the run's namespace is
// known, reuses the load's render where the namespace does not change it:
// an overlay's, a chart's rendered for the pipeline's namespace (the files
// broken after the load show it is not rendered again). A chart is
// rendered again for another namespace (its templates may read
// .Release.Namespace), and a deploy with a namespace of its own was
// checked in it at load.
func TestDeployCheckInNamespace(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deploy := func(ns string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: " + ns + "\n" +
			"spec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: web:v1}]}\n"
	}
	write("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
	write("chart/templates/web.yaml", deploy("{{ .Release.Namespace }}"))
	write("overlay/kustomization.yaml", "resources: [web.yaml]\n")
	write("overlay/web.yaml", deploy("team-a"))
	workload := "  workload {\n    kind = \"Deployment\"\n    name = \"web\"\n  }\n"
	check := func(pipelineNS, body string) func(string) []steps.Problem {
		t.Helper()
		ps, inNamespace := deployKind{}.CheckFiles(root, pipelineNS, permCfg(t, deployKind{}, body, nil))
		if len(ps) != 0 {
			t.Fatalf("load: %v", ps)
		}
		return inNamespace
	}
	chartBlock := "chart {\n  path = \"chart\"\n" + workload + "}\n"
	overlayBlock := "kustomize {\n  path = \"overlay\"\n" + workload + "}\n"

	// Rendered again for each namespace: in its own each time.
	chart := check("", chartBlock)
	for _, ns := range []string{"default", "shop", "default"} {
		if ps := chart(ns); len(ps) != 0 {
			t.Errorf("chart in %s: %v (rendered for another namespace?)", ns, ps)
		}
	}
	if own := check("", "namespace = \"team-a\"\n"+overlayBlock); own != nil {
		t.Error("a deploy with its own namespace leaves a check for the run's")
	}
	inShop, overlay := check("shop", chartBlock), check("", overlayBlock)
	write("chart/templates/web.yaml", "{{ nosuch }}\n")
	write("overlay/web.yaml", "not: [yaml\n")
	if ps := inShop("shop"); len(ps) != 0 {
		t.Errorf("chart in the namespace the load rendered it for: %v (rendered again?)", ps)
	}
	if ps := inShop("other"); len(ps) != 1 || ps[0].Summary != "Invalid chart" {
		t.Errorf("chart in another namespace: %v, want the broken template's error", ps)
	}
	if ps := overlay("team-a"); len(ps) != 0 {
		t.Errorf("overlay in team-a: %v (rendered again?)", ps)
	}
	if ps := overlay("shop"); len(ps) != 1 || !strings.Contains(ps[0].Detail, "into namespace team-a, but the pipeline acts in shop") {
		t.Errorf("overlay in shop: %v", ps)
	}
}
