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
