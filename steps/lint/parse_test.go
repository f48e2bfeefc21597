package lint

import (
	"math"
	"testing"
)

func TestScriptSleep(t *testing.T) {
	for _, tc := range []struct {
		script string
		secs   float64
		ok     bool
	}{
		{"sleep 10", 10, true},
		{"sleep 1m 30s", 90, true},
		{"/bin/sleep 2.5", 2.5, true},
		{"echo draining; sleep 5 && nginx -s quit; sleep '5'", 10, true},
		{"if true; then sleep 3; fi", 3, true},
		{"sleep infinity", math.Inf(1), true},
		{"sleep $DELAY", 0, false},
		{"nginx -s quit", 0, false},
		{"sleeper 10", 0, false},
	} {
		secs, ok := scriptSleep(tc.script)
		if ok != tc.ok || secs != tc.secs {
			t.Errorf("scriptSleep(%q) = %v, %v; want %v, %v", tc.script, secs, ok, tc.secs, tc.ok)
		}
	}
}

// Lists, anchors and merge keys are plain YAML; rules must see through them
// and still point at the node in the file.
func TestYAMLStructures(t *testing.T) {
	src := `apiVersion: v1
kind: List
items:
  - kind: Deployment
    metadata: {name: a}
    spec:
      replicas: 1
      template:
        spec: &podspec
          containers:
            - name: web
              ports: [{containerPort: 80}]
  - kind: Deployment
    metadata: {name: b}
    spec:
      <<: {replicas: 3}
      template:
        spec: *podspec
`
	got := map[string]Finding{}
	for _, f := range Sources(map[string]string{"list.yaml": src}) {
		got[f.Rule+" "+f.Object] = f
	}
	for key, want := range map[string][2]int{
		"single-replica Deployment/a":  {7, 7},
		"readiness-probe Deployment/a": {11, 15},
		"readiness-probe Deployment/b": {11, 15}, // through the alias, at the anchored node
	} {
		f, ok := got[key]
		if !ok || f.Line != want[0] || f.Col != want[1] {
			t.Errorf("%s: want at %d:%d, got %+v (all %v)", key, want[0], want[1], f, got)
		}
	}
	if f, ok := got["single-replica Deployment/b"]; ok {
		t.Errorf("replicas 3 comes from a merge key; want no single-replica finding, got %v", f)
	}
}
