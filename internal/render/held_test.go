package render

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// checkChart renders testdata's store chart with values and checks it
// against a held StatefulSet named demo.
func checkChart(t *testing.T, values cty.Value) error {
	t.Helper()
	files, err := RenderChart(dir, Chart{Path: "charts/store", Release: "demo", Values: values}, "default")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Manifests(files)
	if err != nil {
		t.Fatal(err)
	}
	w := &Workload{Kind: "StatefulSet", Name: "demo", Held: true}
	return w.Check("chart charts/store", files, ms)
}

func strategy(partition int64, replicas int64) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"replicaCount": cty.NumberIntVal(replicas),
		"updateStrategy": cty.ObjectVal(map[string]cty.Value{
			"type":          cty.StringVal("RollingUpdate"),
			"rollingUpdate": cty.ObjectVal(map[string]cty.Value{"partition": cty.NumberIntVal(partition)}),
		}),
	})
}

func TestHeldStatefulSet(t *testing.T) {
	if err := checkChart(t, strategy(3, 3)); err != nil {
		t.Errorf("partition 3 of 3 replicas: %v", err)
	}
	if err := checkChart(t, strategy(7, 3)); err != nil {
		t.Errorf("partition 7 of 3 replicas: %v", err)
	}
	// The chart's own values: no partition, so every pod would update.
	var e *Error
	if err := checkChart(t, cty.NullVal(cty.DynamicPseudoType)); !errors.As(err, &e) {
		t.Fatalf("no partition: err = %v, want an *Error", err)
	}
	if e.File != "charts/store/templates/statefulset.yaml" || e.Line != 14 || e.Col != 3 {
		t.Errorf("place = %s:%d:%d, want the template's updateStrategy line (14:3)", e.File, e.Line, e.Col)
	}
	if !strings.Contains(e.Msg, "partition of its rolling update at 0, below its 3 replicas") || !strings.Contains(e.Msg, ".Values.updateStrategy") {
		t.Errorf("msg = %s", e.Msg)
	}
	err := checkChart(t, strategy(2, 5))
	if err == nil || !strings.Contains(err.Error(), "at 2, below its 5 replicas, so the deploy would update the pods from ordinal 2 up") {
		t.Errorf("partition 2 of 5: err = %v", err)
	}
}

// checkOverlay builds an overlay of one DaemonSet and checks it against a
// held DaemonSet named agent.
func checkOverlay(t *testing.T, kind, strategy string) error {
	t.Helper()
	tmp := t.TempDir()
	os.WriteFile(filepath.Join(tmp, "kustomization.yaml"), []byte("resources:\n  - ds.yaml\n"), 0o600)
	os.WriteFile(filepath.Join(tmp, "ds.yaml"), []byte(`apiVersion: apps/v1
kind: `+kind+`
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
`+strategy+`  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
        - name: agent
          image: bebullish/demo:v1
`), 0o600)
	files, err := RenderOverlay("", Overlay{Path: tmp})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Manifests(files)
	if err != nil {
		t.Fatal(err)
	}
	w := &Workload{Kind: kind, Name: "agent", Held: true}
	return w.Check("overlay "+tmp, files, ms)
}

func TestHeldDaemonSet(t *testing.T) {
	if err := checkOverlay(t, "DaemonSet", "  updateStrategy:\n    type: OnDelete\n"); err != nil {
		t.Errorf("OnDelete: %v", err)
	}
	var e *Error
	err := checkOverlay(t, "DaemonSet", "  updateStrategy:\n    type: RollingUpdate\n")
	if !errors.As(err, &e) || !strings.HasSuffix(e.File, "ds.yaml") || e.Line != 8 {
		t.Fatalf("RollingUpdate: err = %v, want ds.yaml:8 (its updateStrategy)", err)
	}
	if !strings.Contains(e.Msg, "DaemonSet agent updates with RollingUpdate, so the deploy would replace the pod of every node") ||
		!strings.Contains(e.Msg, "the overlay must set updateStrategy: {type: OnDelete}") {
		t.Errorf("msg = %s", e.Msg)
	}
	// No strategy at all is RollingUpdate: the error is at the name.
	err = checkOverlay(t, "DaemonSet", "")
	if !errors.As(err, &e) || e.Line != 4 || !strings.Contains(e.Msg, "updates with RollingUpdate") {
		t.Errorf("no strategy: err = %v, want line 4 (its name)", err)
	}
	// A StatefulSet on OnDelete has no partition to step down.
	err = checkOverlay(t, "StatefulSet", "  updateStrategy:\n    type: OnDelete\n")
	if err == nil || !strings.Contains(err.Error(), "updates with OnDelete, but the pipeline steps a RollingUpdate's partition down") {
		t.Errorf("StatefulSet OnDelete: err = %v", err)
	}
	err = checkOverlay(t, "Deployment", "")
	if err == nil || !strings.Contains(err.Error(), "cannot be held") {
		t.Errorf("Deployment: err = %v", err)
	}
}

// A workload rendered into a namespace other than the one the pipeline
// acts in is refused, at the namespace line; unknown (load time) or the
// same namespace passes.
func TestWorkloadNamespace(t *testing.T) {
	files := []File{{Name: "o/sts.yaml", Text: "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: demo\n  namespace: team-a\nspec:\n  replicas: 1\n  updateStrategy:\n    rollingUpdate:\n      partition: 1\n"}}
	ms, err := Manifests(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"", "team-a"} {
		w := &Workload{Kind: "StatefulSet", Name: "demo", Held: true, Namespace: ns}
		if err := w.Check("overlay o", files, ms); err != nil {
			t.Errorf("acting in %q: %v", ns, err)
		}
	}
	w := &Workload{Kind: "StatefulSet", Name: "demo", Namespace: "shop"}
	var e *Error
	if err := w.Check("overlay o", files, ms); !errors.As(err, &e) {
		t.Fatalf("acting in shop: err = %v", err)
	}
	if e.File != "o/sts.yaml" || e.Line != 5 || e.Col != 3 || !strings.Contains(e.Msg, "into namespace team-a, but the pipeline acts in shop") {
		t.Errorf("err = %s:%d:%d %s", e.File, e.Line, e.Col, e.Msg)
	}
}

// The advice for a misnamed workload says what the pipeline adds.
func TestNameAdvice(t *testing.T) {
	files := []File{{Name: "o/ds.yaml", Text: "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: team-demo\n"}}
	ms, err := Manifests(files)
	if err != nil {
		t.Fatal(err)
	}
	w := &Workload{Kind: "DaemonSet", Name: "demo"}
	if err := w.Check("overlay o", files, ms); err == nil || !strings.Contains(err.Error(), "a namePrefix or nameSuffix in its kustomization renames it, and the pipeline adds none") {
		t.Errorf("no suffix: %v", err)
	}
	w = &Workload{Kind: "DaemonSet", Name: "demo-v2", NameSuffix: "-v2"}
	if err := w.Check("overlay o", files, ms); err == nil || !strings.Contains(err.Error(), "the pipeline adds the suffix -v2") {
		t.Errorf("suffix: %v", err)
	}
}
