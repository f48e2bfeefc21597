package testcluster

import (
	"strings"
	"testing"
)

func TestParseWaitCondition(t *testing.T) {
	for _, tc := range []struct {
		in, path, value string
		exists, deleted bool
		err             bool
	}{
		{in: "{.status.readyReplicas}=3", path: "{.status.readyReplicas}", value: "3"},
		{in: `{.status.conditions[?(@.type=="Ready")].status}=True`, path: `{.status.conditions[?(@.type=="Ready")].status}`, value: "True"},
		{in: ".spec.replicas=", path: ".spec.replicas", value: ""},
		{in: "{.a}=x=y", path: "{.a}", value: "x=y"},
		{in: "exists", exists: true},
		{in: "deleted", deleted: true},
		{in: "{.status.readyReplicas}", err: true},
	} {
		c, err := parseWaitCondition(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%s: err %v", tc.in, err)
			continue
		}
		if c.path != tc.path || c.value != tc.value || c.exists != tc.exists || c.deleted != tc.deleted {
			t.Errorf("%s: got %+v", tc.in, c)
		}
	}
}

func TestNamespaceName(t *testing.T) {
	for _, p := range []string{"rolling", "Some_Test/With Spaces", strings.Repeat("x", 80), "--", ""} {
		ns := namespaceName(p)
		if len(ns) > 63 || strings.Trim(ns, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || ns[0] == '-' {
			t.Errorf("%q: bad namespace %q", p, ns)
		}
	}
}

func TestDecodeManifests(t *testing.T) {
	objs, err := decodeManifests([]byte(`
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
# only a comment
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
- {apiVersion: v1, kind: Secret, metadata: {name: c}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetKind()+"/"+o.GetName())
	}
	if got := strings.Join(names, " "); got != "ConfigMap/a ConfigMap/b Secret/c" {
		t.Fatalf("got %s", got)
	}
}

func TestEvalJSONPath(t *testing.T) {
	obj := map[string]any{"status": map[string]any{
		"replicas":   int64(3),
		"conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
	}}
	for in, want := range map[string]string{
		"{.status.replicas}": "3",
		".status.replicas":   "3",
		`{.status.conditions[?(@.type=="Ready")].status}`: "True",
		"{.status.missing}": "",
	} {
		got, err := evalJSONPath(in, obj)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", in, got, err, want)
		}
	}
}
