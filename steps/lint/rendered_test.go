package lint

import (
	"context"
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
