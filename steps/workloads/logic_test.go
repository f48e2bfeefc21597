package workloads

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func TestAllKindsRegistered(t *testing.T) {
	for _, n := range []string{"deploy", "wait", "scale", "rollback", "patch", "delete"} {
		k, ok := steps.Default.Lookup(n)
		if !ok {
			t.Errorf("%s is not registered", n)
			continue
		}
		_, undo := k.(steps.Undoer)
		wantUndo := n != "wait" && n != "rollback"
		if undo != wantUndo {
			t.Errorf("%s: Undoer = %v, want %v", n, undo, wantUndo)
		}
	}
}

func TestDeployCheck(t *testing.T) {
	cfg := func(m cty.Value) cty.Value { return cty.ObjectVal(map[string]cty.Value{"manifests": m}) }
	good := cty.ListVal([]cty.Value{cty.StringVal("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")})
	if p := (deployKind{}).Check(cfg(good)); len(p) != 0 {
		t.Errorf("valid manifests: %+v", p)
	}
	bad := cty.ListVal([]cty.Value{cty.StringVal("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")})
	p := (deployKind{}).Check(cfg(bad))
	if len(p) != 1 || !strings.Contains(p[0].Detail, "metadata.name") || p[0].Path[0] != "manifests" {
		t.Errorf("missing name: %+v", p)
	}
	// Not known at load time (a stage output): nothing to say yet.
	partly := cty.ListVal([]cty.Value{cty.StringVal("x: ["), cty.UnknownVal(cty.String)})
	if p := (deployKind{}).Check(cfg(partly)); len(p) != 0 {
		t.Errorf("unknown manifests: %+v", p)
	}
}

func TestOverrideImagesNamesUnmatched(t *testing.T) {
	ms, err := kube.ParseManifests([]string{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: a:1}]\n"})
	if err != nil {
		t.Fatal(err)
	}
	err = overrideImages(ms, map[string]string{"app": "a:2", "ap": "a:2"})
	if err == nil || !strings.Contains(err.Error(), `"ap"`) || !strings.Contains(err.Error(), "containers: app") {
		t.Errorf("err = %v, want it to name the unmatched container and the ones there are", err)
	}
	if err := overrideImages(ms, map[string]string{"app": "a:2"}); err != nil {
		t.Fatal(err)
	}
	if got := kube.ContainerNames(ms[0].Object); len(got) != 1 {
		t.Fatal(got)
	}
	c, _, _ := unstructured.NestedSlice(ms[0].Object.Object, "spec", "template", "spec", "containers")
	if img := c[0].(map[string]any)["image"]; img != "a:2" {
		t.Errorf("image = %v", img)
	}
}

func TestApplyOrder(t *testing.T) {
	ms, err := kube.ParseManifests([]string{`
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: b}
`})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range applyOrder(ms) {
		got = append(got, m.Object.GetKind())
	}
	want := "Namespace CustomResourceDefinition ConfigMap Widget Service"
	if strings.Join(got, " ") != want {
		t.Errorf("order = %v, want %s", got, want)
	}
}

func TestParseCondition(t *testing.T) {
	for in, want := range map[string]string{
		"Available": "Available=True", "Available=False": "Available=False",
		"ready = unknown": "ready=Unknown", " Progressing=true ": "Progressing=True",
	} {
		typ, st, err := parseCondition(in)
		if err != nil || typ+"="+st != want {
			t.Errorf("parseCondition(%q) = %s=%s %v, want %s", in, typ, st, err, want)
		}
	}
	for _, in := range []string{"", "=True", "Available=yes"} {
		if _, _, err := parseCondition(in); err == nil {
			t.Errorf("parseCondition(%q) succeeded", in)
		}
	}
}

func deployWithConditions(conds ...any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop", "generation": int64(2)},
		"status":   map[string]any{"observedGeneration": int64(2), "readyReplicas": int64(2), "conditions": conds},
	}}
}

var webRef = kube.Ref{APIVersion: "apps/v1", Kind: "Deployment", Resource: "deployments", Namespace: "shop", Name: "web"}

func TestWaitConditionMode(t *testing.T) {
	cfg := cty.ObjectVal(map[string]cty.Value{"condition": cty.StringVal("Available")})
	cond, err := waitCondition(&steps.Env{}, decodeWait(t, cfg), webRef)
	if err != nil {
		t.Fatal(err)
	}
	if done, msg, _ := cond(nil); done || !strings.Contains(msg, "does not exist yet") {
		t.Errorf("absent: %v %q", done, msg)
	}
	notYet := deployWithConditions(map[string]any{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"})
	if done, msg, _ := cond(notYet); done || !strings.Contains(msg, "MinimumReplicasUnavailable") {
		t.Errorf("False: %v %q", done, msg)
	}
	if done, _, _ := cond(deployWithConditions(map[string]any{"type": "Available", "status": "True"})); !done {
		t.Error("True: not done")
	}
	cfg = cty.ObjectVal(map[string]cty.Value{"condition": cty.StringVal("Available=False")})
	cond, _ = waitCondition(&steps.Env{}, decodeWait(t, cfg), webRef)
	if done, _, _ := cond(notYet); !done {
		t.Error("Available=False: not done on a False condition")
	}
}

// until is re-evaluated with `object` bound, through the step body and the
// engine's evaluation context (functions included).
func TestWaitUntilExpression(t *testing.T) {
	src := `
resource {
  kind = "deploy"
  name = "web"
}
until = try(object.status.readyReplicas, 0) >= var.want && upper(object.metadata.name) == "WEB"
`
	f, diags := hclsyntax.ParseConfig([]byte(src), "wait.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ectx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"want": cty.NumberIntVal(2)})},
		Functions: map[string]function.Function{"upper": stdlib.UpperFunc, "try": tryfunc.TryFunc},
	}
	env := &steps.Env{Body: f.Body, EvalContext: ectx}
	cfg := cty.ObjectVal(map[string]cty.Value{"until": cty.UnknownVal(cty.Bool)})
	cond, err := waitCondition(env, decodeWait(t, cfg), webRef)
	if err != nil {
		t.Fatal(err)
	}
	ready := deployWithConditions()
	if done, msg, err := cond(ready); err != nil || !done {
		t.Errorf("readyReplicas 2 >= 2: %v %q %v", done, msg, err)
	}
	unstructured.SetNestedField(ready.Object, int64(1), "status", "readyReplicas")
	if done, msg, err := cond(ready); err != nil || done || !strings.Contains(msg, "until is false") {
		t.Errorf("readyReplicas 1: %v %q %v", done, msg, err)
	}
}

func TestWaitUntilErrors(t *testing.T) {
	eval := func(src string, obj *unstructured.Unstructured) (bool, string, error) {
		f, diags := hclsyntax.ParseConfig([]byte(src), "wait.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		env := &steps.Env{Body: f.Body}
		cond, err := waitCondition(env, decodeWait(t, cty.ObjectVal(map[string]cty.Value{"until": cty.UnknownVal(cty.Bool)})), webRef)
		if err != nil {
			t.Fatal(err)
		}
		return cond(obj)
	}
	// A field the controller has not written yet: keep waiting, say why.
	done, msg, err := eval(`until = object.status.availableReplicas == 2`, deployWithConditions())
	if err != nil || done || !strings.Contains(msg, "cannot be evaluated yet") {
		t.Errorf("missing field: %v %q %v", done, msg, err)
	}
	// Not a bool: a terminal error.
	if _, _, err := eval(`until = object.metadata`, deployWithConditions()); err == nil {
		t.Error("an object-valued until should fail")
	}
}

func TestScaledTo(t *testing.T) {
	obj := func(gen, observed, replicas, ready, terminating int64) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"name": "web", "generation": gen},
			"status": map[string]any{"observedGeneration": observed, "replicas": replicas,
				"readyReplicas": ready, "terminatingReplicas": terminating},
		}}
	}
	cases := []struct {
		name string
		o    *unstructured.Unstructured
		want int64
		done bool
	}{
		{"not observed", obj(3, 2, 3, 3, 0), 3, false},
		{"scaling up", obj(3, 3, 3, 1, 0), 3, false},
		{"up done", obj(3, 3, 3, 3, 0), 3, true},
		{"down pending", obj(3, 3, 3, 1, 0), 1, false},
		{"down terminating", obj(3, 3, 1, 1, 2), 1, false},
		{"down done", obj(3, 3, 1, 1, 0), 1, true},
		{"zero", obj(3, 3, 0, 0, 0), 0, true},
	}
	for _, c := range cases {
		done, msg, err := scaledTo(webRef, c.want)(c.o)
		if err != nil || done != c.done || msg == "" {
			t.Errorf("%s: %v %q %v, want done=%v", c.name, done, msg, err, c.done)
		}
	}
	if _, _, err := scaledTo(webRef, 1)(nil); err == nil {
		t.Error("a deleted workload should end the wait with an error")
	}
}

func TestPatchBytes(t *testing.T) {
	obj := cty.ObjectVal(map[string]cty.Value{"spec": cty.ObjectVal(map[string]cty.Value{"replicas": cty.NumberIntVal(2)})})
	if b, err := patchBytes(obj, "merge"); err != nil || string(b) != `{"spec":{"replicas":2}}` {
		t.Errorf("object: %s %v", b, err)
	}
	ops := cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"op": cty.StringVal("remove"), "path": cty.StringVal("/x")})})
	if _, err := patchBytes(ops, "json"); err != nil {
		t.Error(err)
	}
	for _, c := range []struct {
		v   cty.Value
		typ string
	}{{ops, "merge"}, {obj, "json"}, {cty.StringVal("{nope"), "merge"}, {cty.StringVal("3"), "strategic"}} {
		if _, err := patchBytes(c.v, c.typ); err == nil {
			t.Errorf("patchBytes(%#v, %s) succeeded", c.v, c.typ)
		}
	}
	p := (patchKind{}).Check(cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("yaml"), "patch": cty.StringVal("{}")}))
	if len(p) == 0 || p[0].Path[0] != "type" {
		t.Errorf("Check of type yaml: %+v", p)
	}
}

func TestChecksOfEnums(t *testing.T) {
	if p := (deleteKind{}).Check(cty.ObjectVal(map[string]cty.Value{"propagation": cty.StringVal("cascade")})); len(p) != 1 {
		t.Errorf("delete propagation: %+v", p)
	}
	if p := (scaleKind{}).Check(cty.ObjectVal(map[string]cty.Value{"replicas": cty.NumberFloatVal(1.5)})); len(p) != 1 {
		t.Errorf("scale 1.5: %+v", p)
	}
	if p := (scaleKind{}).Check(cty.ObjectVal(map[string]cty.Value{"replicas": cty.UnknownVal(cty.Number)})); len(p) != 0 {
		t.Errorf("scale unknown: %+v", p)
	}
	if p := (rollbackKind{}).Check(cty.ObjectVal(map[string]cty.Value{"to_revision": cty.NumberIntVal(-1)})); len(p) != 1 {
		t.Errorf("rollback -1: %+v", p)
	}
	res := cty.ObjectVal(map[string]cty.Value{"kind": cty.StringVal("deploy"), "name": cty.StringVal("web")})
	both := cty.ObjectVal(map[string]cty.Value{"resource": res, "rollout": cty.True, "condition": cty.StringVal("Available")})
	if p := (waitKind{}).Check(both); len(p) != 1 {
		t.Errorf("wait with rollout and condition: %+v", p)
	}
	unknownUntil := cty.ObjectVal(map[string]cty.Value{"resource": res, "until": cty.UnknownVal(cty.Bool)})
	if p := (waitKind{}).Check(unknownUntil); len(p) != 0 {
		t.Errorf("wait until unknown at load: %+v", p)
	}
}

// decodeWait reads a wait block's value as the kind does.
func decodeWait(t *testing.T, cfg cty.Value) waitConfig {
	t.Helper()
	var c waitConfig
	if _, err := steps.Decode(cfg, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
