package lint

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/steps"
)

// A chart whose values drop the readiness probe: the finding names the
// chart's template file and the template's line of the container, not a
// line of the rendered text.
func TestKindLintsChartAtTemplateLines(t *testing.T) {
	cfg := decode(t, `chart {
  path    = "testdata/charts/web"
  release = "demo"
  values  = [{ readiness = false }]
}
fail_on = "never"
`)
	env := &steps.Env{Dir: filepath.Join("..", ".."), Namespace: "default"}
	out, err := kind{}.Run(context.Background(), env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for it := out.GetAttr("findings").ElementIterator(); it.Next(); {
		_, f := it.Element()
		line, _ := f.GetAttr("line").AsBigFloat().Int64()
		got = append(got, f.GetAttr("file").AsString()+":"+f.GetAttr("rule").AsString()+":"+strconv.FormatInt(line, 10))
	}
	want := "testdata/charts/web/templates/deployment.yaml:"
	found := false
	for _, g := range got {
		if strings.HasPrefix(g, want) && strings.Contains(g, "readiness") {
			found = true
			if !strings.HasSuffix(g, ":28") {
				t.Errorf("readiness finding %s is not at the template's container line (28)", g)
			}
		}
	}
	if !found {
		t.Fatalf("no readiness finding in %s; got %v", want, got)
	}
}

// The chart's test Pod is a Helm hook: deploy does not apply it, so lint
// does not lint it either, and says so as deploy does.
func TestKindLeavesOutChartHooks(t *testing.T) {
	cfg := decode(t, `chart {
  path    = "testdata/charts/web"
  release = "demo"
}
fail_on = "never"
`)
	var said []string
	env := &steps.Env{Dir: filepath.Join("..", ".."), Namespace: "default", Progress: func(m string) { said = append(said, m) }}
	out, err := kind{}.Run(context.Background(), env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for it := out.GetAttr("findings").ElementIterator(); it.Next(); {
		_, f := it.Element()
		if obj := f.GetAttr("object").AsString(); strings.Contains(obj, "demo-test") || strings.Contains(f.GetAttr("file").AsString(), "tests/") {
			t.Errorf("finding on the test hook: %s %s", obj, f.GetAttr("message").AsString())
		}
	}
	if !strings.Contains(strings.Join(said, "\n"), "left out Helm hooks, which cutover does not run: Pod demo-test (test)") {
		t.Errorf("lint did not say it left the hook out; said %q", said)
	}
}

// A finding in an overlay names the base's file and the line there of what
// it is about, not a line of the build's output.
func TestKindLintsOverlayAtSourceLines(t *testing.T) {
	tmp := t.TempDir()
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(filepath.Join(tmp, p)), 0o700)
		if err := os.WriteFile(filepath.Join(tmp, p), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("base/kustomization.yaml", "resources:\n  - app.yaml\n")
	base := `# no readiness probe
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: web:v1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80}]
`
	write("base/app.yaml", base)
	write("prod/kustomization.yaml", "resources:\n  - ../base\nnamePrefix: prod-\nreplicas:\n  - name: web\n    count: 3\n")
	cfg := decode(t, "kustomize {\n  path = \"prod\"\n}\nfail_on = \"never\"\n")
	out, err := kind{}.Run(context.Background(), &steps.Env{Dir: tmp, Namespace: "default"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	lines := strings.Split(base, "\n")
	for it := out.GetAttr("findings").ElementIterator(); it.Next(); {
		_, f := it.Element()
		if f.GetAttr("rule").AsString() != "readiness-probe" {
			continue
		}
		found = true
		line, _ := f.GetAttr("line").AsBigFloat().Int64()
		col, _ := f.GetAttr("col").AsBigFloat().Int64()
		if file := f.GetAttr("file").AsString(); file != "base/app.yaml" || line < 1 || !strings.Contains(lines[line-1], "- name: web") || col != 11 {
			t.Errorf("readiness finding at %s:%d:%d, want base/app.yaml at the container (15:11)", file, line, col)
		}
	}
	if !found {
		t.Fatalf("no readiness finding: %v", out.GetAttr("findings").GoString())
	}
}
