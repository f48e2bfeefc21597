package kube

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const webYAML = `
# leading comment, then an empty document
---
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  template:
    spec:
      initContainers:
      - name: migrate
        image: app:v1
      containers:
      - name: app
        image: app:v1
      - name: proxy
        image: envoy:1
---
apiVersion: v1
kind: Service
metadata: {name: web}
`

func TestParseManifests(t *testing.T) {
	ms, err := ParseManifests([]string{webYAML, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`,
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Object.GetKind()+"/"+m.Object.GetName())
	}
	want := []string{"Deployment/web", "Service/web", "ConfigMap/c", "ConfigMap/a", "ConfigMap/b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("objects = %v, want %v", got, want)
	}
	// Integers must stay integers, as the API server would send them.
	if r, ok := ms[0].Object.Object["spec"].(map[string]any)["replicas"].(int64); !ok || r != 3 {
		t.Errorf("replicas = %#v, want int64 3", ms[0].Object.Object["spec"].(map[string]any)["replicas"])
	}
	if !strings.HasPrefix(ms[1].Source, "manifest 1, document ") || ms[2].Source != "manifest 2, document 1" {
		t.Errorf("source = %q", ms[1].Source)
	}
}

func TestParseManifestsErrors(t *testing.T) {
	_, err := ParseManifests([]string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkind: ConfigMap\nmetadata: {}\n",
		"apiVersion: v1\nkind: [unclosed\n",
		"- just\n- a list\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {generateName: web-}\n",
	})
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, want := range []string{
		"manifest 1, document 2: ConfigMap has no apiVersion, metadata.name",
		"manifest 2, document 1: invalid YAML",
		"manifest 3, document 1: not an object",
		"manifest 4, document 1: Pod \"web-\" uses metadata.generateName",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
}

func TestSetImages(t *testing.T) {
	ms, err := ParseManifests([]string{webYAML})
	if err != nil {
		t.Fatal(err)
	}
	d := ms[0].Object
	matched, err := SetImages(d, map[string]string{"app": "app:v2", "migrate": "app:v2", "absent": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(matched, []string{"app", "migrate"}) {
		t.Errorf("matched = %v", matched)
	}
	images := map[string]string{}
	for _, f := range []string{"initContainers", "containers"} {
		l, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", f)
		for _, c := range l {
			images[c.(map[string]any)["name"].(string)] = c.(map[string]any)["image"].(string)
		}
	}
	want := map[string]string{"migrate": "app:v2", "app": "app:v2", "proxy": "envoy:1"}
	if !reflect.DeepEqual(images, want) {
		t.Errorf("images = %v, want %v", images, want)
	}
	if got := ContainerNames(d); !reflect.DeepEqual(got, []string{"migrate", "app", "proxy"}) {
		t.Errorf("ContainerNames = %v", got)
	}
	// A kind without a pod spec is left alone.
	if m, err := SetImages(ms[1].Object, map[string]string{"app": "x"}); err != nil || m != nil {
		t.Errorf("Service: matched %v, err %v", m, err)
	}
	cron := &unstructured.Unstructured{Object: map[string]any{"kind": "CronJob", "spec": map[string]any{"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []any{map[string]any{"name": "app", "image": "a:1"}}}}}}}}}
	if m, _ := SetImages(cron, map[string]string{"app": "a:2"}); len(m) != 1 {
		t.Error("CronJob container not matched")
	}
}

// ":TAG" keeps the repository the manifests name, registry port included.
func TestSetImagesTagOnly(t *testing.T) {
	for _, c := range []struct{ old, want string }{
		{"registry.example.com:5000/team/ledger:v1", "registry.example.com:5000/team/ledger:v2"},
		{"team/ledger", "team/ledger:v2"},
		{"ledger@sha256:abc", "ledger:v2"},
		{"localhost:5000/ledger", "localhost:5000/ledger:v2"},
	} {
		d := &unstructured.Unstructured{Object: map[string]any{"kind": "Pod", "spec": map[string]any{
			"containers": []any{map[string]any{"name": "app", "image": c.old}}}}}
		if _, err := SetImages(d, map[string]string{"app": ":v2"}); err != nil {
			t.Fatal(err)
		}
		l, _, _ := unstructured.NestedSlice(d.Object, "spec", "containers")
		if got := l[0].(map[string]any)["image"]; got != c.want {
			t.Errorf("%s with :v2 = %v, want %s", c.old, got, c.want)
		}
	}
}
