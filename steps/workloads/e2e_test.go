package workloads

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

var slowReady = map[string]string{"cutover.test/ready-delay": "1s"}

func TestE2EDeployAndUndo(t *testing.T) {
	e := newE2E(t)
	web := e.deployment("web")

	out, err := deployKind{}.Run(e.ctx, e.env(nil), deployCfg([]string{webManifest("web", "app:v1", 3, slowReady)}, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if rev := out.GetAttr("revision").AsString(); rev != "1" {
		t.Errorf("first revision = %q, want 1", rev)
	}
	before := e.get(web)
	if got := nested(before, "status", "availableReplicas"); got != int64(3) {
		t.Fatalf("deploy returned with %v available replicas, want 3 (it must wait for the rollout)", got)
	}

	// The release under test: a new image through images, a label cutover
	// adds, and two objects that did not exist.
	e.journal = &journal{}
	v2 := strings.Replace(webManifest("web", "app:v1", 3, slowReady), "labels: {app: web}\n", "labels: {app: web, tier: frontend}\n", 1)
	extra := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {color: green}\n---\n" +
		"apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n"
	out, err = deployKind{}.Run(e.ctx, e.env(nil), deployCfg([]string{v2, extra}, map[string]string{"app": "app:v2"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if rev := out.GetAttr("revision").AsString(); rev != "2" {
		t.Errorf("second revision = %q, want 2", rev)
	}
	if n := out.GetAttr("objects").LengthInt(); n != 3 {
		t.Errorf("objects = %d, want 3", n)
	}
	first := out.GetAttr("objects").Index(cty.NumberIntVal(0))
	if first.GetAttr("kind").AsString() != "Deployment" || first.GetAttr("namespace").AsString() != e.ns {
		t.Errorf("objects[0] = %#v", first)
	}
	live := e.get(web)
	if img := containerImage(t, live); img != "app:v2" {
		t.Fatalf("image after deploy = %s, want app:v2", img)
	}
	if e.get(e.ref("ConfigMap", "configmaps", "web-config")) == nil {
		t.Fatal("configmap not created")
	}

	if err := (deployKind{}).Undo(e.ctx, e.env(nil), e.journal.records()); err != nil {
		t.Fatal(err)
	}
	after := e.get(web)
	if img := containerImage(t, after); img != "app:v1" {
		t.Errorf("image after undo = %s, want app:v1", img)
	}
	if !reflect.DeepEqual(before.Object["spec"], after.Object["spec"]) {
		t.Errorf("spec after undo differs from before:\nbefore %v\nafter  %v", before.Object["spec"], after.Object["spec"])
	}
	if _, ok := after.GetLabels()["tier"]; ok {
		t.Error("label added by the release survived the undo")
	}
	// Undo waits for the restored rollout.
	if nested(after, "status", "updatedReplicas") != int64(3) || nested(after, "status", "availableReplicas") != int64(3) || nested(after, "status", "replicas") != int64(3) {
		t.Errorf("undo returned before the rollout finished: status %v", after.Object["status"])
	}
	for _, r := range []kube.Ref{e.ref("ConfigMap", "configmaps", "web-config"), e.ref("Service", "services", "web")} {
		if obj := e.get(r); obj != nil && obj.GetDeletionTimestamp() == nil {
			t.Errorf("%s did not exist before the deploy and is still there", r)
		}
	}
}

func TestE2EDeployProgressDeadlineIsTerminal(t *testing.T) {
	e := newE2E(t)
	m := strings.Replace(webManifest("stuck", "app:v1", 1, map[string]string{"cutover.test/never-ready": "true"}),
		"  replicas: 1\n", "  replicas: 1\n  progressDeadlineSeconds: 2\n", 1)
	_, err := deployKind{}.Run(e.ctx, e.env(nil), deployCfg([]string{m}, nil, nil))
	var rf *kube.RolloutFailed
	if !errors.As(err, &rf) {
		t.Fatalf("err = %v, want a RolloutFailed", err)
	}
	if steps.IsRetryable(err) {
		t.Error("a progress deadline must not be retried")
	}
	if !strings.Contains(err.Error(), "deployment/stuck in namespace "+e.ns) || e.ctx.Err() != nil {
		t.Errorf("err = %v, want it to name the deployment (and the test context alive)", err)
	}
	// The controller timed this rollout (its condition is this rollout's):
	// the verdict is its own, not one cutover applied for it.
	if !strings.Contains(err.Error(), "has timed out progressing") || strings.Contains(err.Error(), "cutover applied") {
		t.Errorf("err = %v, want the deployment controller's verdict", err)
	}
	// And it ends with the state that failed, as a timeout's error does
	// (the pod is named too once it has run unready for SlowReady).
	if !strings.Contains(err.Error(), "progressing; last seen: deployment/stuck: 0 of 1 updated replicas are available") {
		t.Errorf("err = %v, want it to end with what the wait saw last", err)
	}
}

func TestE2EDeployRejectsUnknownImageName(t *testing.T) {
	e := newE2E(t)
	_, err := deployKind{}.Run(e.ctx, e.env(nil), deployCfg([]string{webManifest("web", "app:v1", 1, nil)}, map[string]string{"ap": "x"}, nil))
	if err == nil || !strings.Contains(err.Error(), `"ap"`) {
		t.Fatalf("err = %v", err)
	}
	if e.get(e.deployment("web")) != nil {
		t.Error("a deploy with a bad images map wrote to the cluster")
	}
}

// waitCfg is a resource wait as the engine decodes it.
func waitCfg(kind, name string, attrs map[string]cty.Value) cty.Value {
	m := map[string]cty.Value{
		"duration":  cty.NullVal(cty.String),
		"condition": cty.NullVal(cty.String), "rollout": cty.NullVal(cty.Bool), "until": cty.NullVal(cty.Bool),
		"resource": cty.ObjectVal(map[string]cty.Value{
			"kind": cty.StringVal(kind), "name": cty.StringVal(name), "namespace": cty.NullVal(cty.String)}),
	}
	for k, v := range attrs {
		m[k] = v
	}
	return cty.ObjectVal(m)
}

func TestE2EWaitUntilReactsToChange(t *testing.T) {
	e := newE2E(t)
	src := "resource {\n  kind = \"cm\"\n  name = \"flag\"\n}\nuntil = object.data.phase == want\n"
	f, diags := hclsyntax.ParseConfig([]byte(src), "wait.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	progress := make(chan string, 64)
	env := e.env(progress)
	env.Body = f.Body
	env.EvalContext = &hcl.EvalContext{Variables: map[string]cty.Value{"want": cty.StringVal("go")}}
	type result struct {
		v   cty.Value
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := waitKind{}.Run(e.ctx, env, waitCfg("cm", "flag", map[string]cty.Value{"until": cty.UnknownVal(cty.Bool)}))
		done <- result{v, err}
	}()

	if !hasMessage(progress, "does not exist yet", e.ctx) {
		t.Fatal("no report that the object is missing")
	}
	cms := e.c.Typed.CoreV1().ConfigMaps(e.ns)
	cm, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "flag"}, Data: map[string]string{"phase": "wait"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasMessage(progress, "until is false", e.ctx) {
		t.Fatal("the wait did not see the object appear")
	}
	select {
	case r := <-done:
		t.Fatalf("wait returned before the change: %v %v", r.v, r.err)
	default:
	}
	cm.Data["phase"] = "go"
	if _, err := cms.Update(e.ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := r.v.GetAttr("object").GetAttr("data").GetAttr("phase").AsString(); got != "go" {
		t.Errorf("output object has phase %q", got)
	}
}

func TestE2EWaitConditionAndRollout(t *testing.T) {
	e := newE2E(t)
	noWait := false
	if _, err := (deployKind{}).Run(e.ctx, e.env(nil), deployCfg([]string{webManifest("web", "app:v1", 2, slowReady)}, nil, &noWait)); err != nil {
		t.Fatal(err)
	}
	if d := e.get(e.deployment("web")); nested(d, "status", "availableReplicas") == int64(2) {
		t.Fatal("wait = false waited for the rollout")
	}
	out, err := waitKind{}.Run(e.ctx, e.env(nil), waitCfg("apps/v1/Deployment", "web", map[string]cty.Value{"condition": cty.StringVal("Available")}))
	if err != nil {
		t.Fatal(err)
	}
	conds := out.GetAttr("object").GetAttr("status").GetAttr("conditions")
	avail := false
	for it := conds.ElementIterator(); it.Next(); {
		_, c := it.Element()
		if c.GetAttr("type").AsString() == "Available" && c.GetAttr("status").AsString() == "True" {
			avail = true
		}
	}
	if !avail {
		t.Errorf("wait returned without Available=True: %#v", conds)
	}
	out, err = waitKind{}.Run(e.ctx, e.env(nil), waitCfg("deploy", "web", map[string]cty.Value{"rollout": cty.True}))
	if err != nil {
		t.Fatal(err)
	}
	if got := out.GetAttr("object").GetAttr("status").GetAttr("updatedReplicas"); !got.Equals(cty.NumberIntVal(2)).True() {
		t.Errorf("rollout wait returned with updatedReplicas %#v", got)
	}
}

func scaleCfg(name string, replicas int64) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"kind": cty.NullVal(cty.String), "name": cty.StringVal(name), "replicas": cty.NumberIntVal(replicas),
		"namespace": cty.NullVal(cty.String), "wait": cty.NullVal(cty.Bool),
	})
}

func TestE2EScaleAndUndo(t *testing.T) {
	e := newE2E(t)
	if _, err := (deployKind{}).Run(e.ctx, e.env(nil), deployCfg([]string{webManifest("web", "app:v1", 2, map[string]string{"cutover.test/ready-delay": "500ms"})}, nil, nil)); err != nil {
		t.Fatal(err)
	}
	e.journal = &journal{}
	out, err := scaleKind{}.Run(e.ctx, e.env(nil), scaleCfg("web", 4))
	if err != nil {
		t.Fatal(err)
	}
	if !out.GetAttr("previous").Equals(cty.NumberIntVal(2)).True() || !out.GetAttr("replicas").Equals(cty.NumberIntVal(4)).True() {
		t.Errorf("output = %#v", out)
	}
	d := e.get(e.deployment("web"))
	if nested(d, "spec", "replicas") != int64(4) || nested(d, "status", "readyReplicas") != int64(4) {
		t.Errorf("after scale: spec %v, ready %v; want 4 and 4", nested(d, "spec", "replicas"), nested(d, "status", "readyReplicas"))
	}
	if err := (scaleKind{}).Undo(e.ctx, e.undoEnv(scaleCfg("web", 4)), e.journal.records()); err != nil {
		t.Fatal(err)
	}
	d = e.get(e.deployment("web"))
	if nested(d, "spec", "replicas") != int64(2) || nested(d, "status", "replicas") != int64(2) || nested(d, "status", "readyReplicas") != int64(2) {
		t.Errorf("after undo: spec %v, status %v; want 2 replicas, all ready, no extra", nested(d, "spec", "replicas"), d.Object["status"])
	}
}

func rollbackCfg(name string, to *int64) cty.Value {
	rev := cty.NullVal(cty.Number)
	if to != nil {
		rev = cty.NumberIntVal(*to)
	}
	return cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name), "to_revision": rev,
		"namespace": cty.NullVal(cty.String), "wait": cty.NullVal(cty.Bool)})
}

func TestE2ERollback(t *testing.T) {
	e := newE2E(t)
	m := webManifest("web", "app:v1", 2, map[string]string{"cutover.test/ready-delay": "300ms"})
	for _, img := range []string{"app:v1", "app:v2"} {
		if _, err := (deployKind{}).Run(e.ctx, e.env(nil), deployCfg([]string{m}, map[string]string{"app": img}, nil)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := rollbackKind{}.Run(e.ctx, e.env(nil), rollbackCfg("web", nil))
	if err != nil {
		t.Fatal(err)
	}
	d := e.get(e.deployment("web"))
	if img := containerImage(t, d); img != "app:v1" || out.GetAttr("revision").AsString() != "3" {
		t.Errorf("after rollback: image %s, revision %q; want app:v1 and 3", img, out.GetAttr("revision").AsString())
	}
	if nested(d, "status", "updatedReplicas") != int64(2) || nested(d, "status", "availableReplicas") != int64(2) {
		t.Errorf("rollback returned before the rollout: %v", d.Object["status"])
	}
	two := int64(2)
	out, err = rollbackKind{}.Run(e.ctx, e.env(nil), rollbackCfg("web", &two))
	if err != nil {
		t.Fatal(err)
	}
	if img := containerImage(t, e.get(e.deployment("web"))); img != "app:v2" || out.GetAttr("revision").AsString() != "4" {
		t.Errorf("after rollback to 2: image %s, revision %q; want app:v2 and 4", img, out.GetAttr("revision").AsString())
	}
	missing := int64(40)
	if _, err := (rollbackKind{}).Run(e.ctx, e.env(nil), rollbackCfg("web", &missing)); err == nil || steps.IsRetryable(err) {
		t.Errorf("rollback to a missing revision: err %v, want a final error", err)
	}
}

func patchCfg(kind, name, typ string, patch cty.Value) cty.Value {
	t := cty.NullVal(cty.String)
	if typ != "" {
		t = cty.StringVal(typ)
	}
	return cty.ObjectVal(map[string]cty.Value{"kind": cty.StringVal(kind), "name": cty.StringVal(name),
		"namespace": cty.NullVal(cty.String), "type": t, "patch": patch})
}

func TestE2EPatchAndUndo(t *testing.T) {
	e := newE2E(t)
	svcs := e.c.Typed.CoreV1().Services(e.ns)
	_, err := svcs.Create(e.ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web", "version": "v1"}, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	patch := cty.ObjectVal(map[string]cty.Value{"spec": cty.ObjectVal(map[string]cty.Value{
		"selector": cty.ObjectVal(map[string]cty.Value{"version": cty.StringVal("v2"), "track": cty.StringVal("stable")})})})
	out, err := patchKind{}.Run(e.ctx, e.env(nil), patchCfg("svc", "web", "", patch))
	if err != nil {
		t.Fatal(err)
	}
	if v := out.GetAttr("previous").GetAttr("spec").GetAttr("selector").GetAttr("version").AsString(); v != "v1" {
		t.Errorf("previous selector version = %q", v)
	}
	svc, _ := svcs.Get(e.ctx, "web", metav1.GetOptions{})
	if want := map[string]string{"app": "web", "version": "v2", "track": "stable"}; !reflect.DeepEqual(svc.Spec.Selector, want) {
		t.Errorf("selector after patch = %v", svc.Spec.Selector)
	}
	// A JSON patch on top, as a string.
	if _, err := (patchKind{}).Run(e.ctx, e.env(nil), patchCfg("Service", "web", "json", cty.StringVal(`[{"op":"add","path":"/metadata/labels","value":{"patched":"yes"}}]`))); err != nil {
		t.Fatal(err)
	}
	if err := (patchKind{}).Undo(e.ctx, e.env(nil), e.journal.records()); err != nil {
		t.Fatal(err)
	}
	svc, _ = svcs.Get(e.ctx, "web", metav1.GetOptions{})
	if want := map[string]string{"app": "web", "version": "v1"}; !reflect.DeepEqual(svc.Spec.Selector, want) {
		t.Errorf("selector after undo = %v, want %v", svc.Spec.Selector, want)
	}
	if len(svc.Labels) != 0 {
		t.Errorf("labels after undo = %v, want none", svc.Labels)
	}
}

func deleteCfg(kind, name string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"kind": cty.StringVal(kind), "name": cty.StringVal(name),
		"namespace": cty.NullVal(cty.String), "propagation": cty.NullVal(cty.String), "wait": cty.NullVal(cty.Bool)})
}

func TestE2EDeleteAndUndo(t *testing.T) {
	e := newE2E(t)
	if _, err := (deployKind{}).Run(e.ctx, e.env(nil), deployCfg([]string{webManifest("web", "app:v7", 2, map[string]string{"cutover.test/ready-delay": "300ms"})}, nil, nil)); err != nil {
		t.Fatal(err)
	}
	before := e.get(e.deployment("web"))
	e.journal = &journal{}
	out, err := deleteKind{}.Run(e.ctx, e.env(nil), deleteCfg("deploy", "web"))
	if err != nil {
		t.Fatal(err)
	}
	if e.get(e.deployment("web")) != nil {
		t.Fatal("delete returned while the deployment still exists")
	}
	if out.GetAttr("previous").IsNull() {
		t.Error("no previous object in the output")
	}
	if _, err := (deleteKind{}).Run(e.ctx, e.env(nil), deleteCfg("deploy", "web")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("deleting a missing object on a first attempt: %v", err)
	}
	if err := (deleteKind{}).Undo(e.ctx, e.undoEnv(deleteCfg("deploy", "web")), e.journal.records()); err != nil {
		t.Fatal(err)
	}
	after := e.get(e.deployment("web"))
	if after == nil {
		t.Fatal("undo did not re-create the deployment")
	}
	if after.GetUID() == before.GetUID() {
		t.Error("same uid: not re-created?")
	}
	if !reflect.DeepEqual(before.Object["spec"], after.Object["spec"]) {
		t.Errorf("spec differs:\nbefore %v\nafter  %v", before.Object["spec"], after.Object["spec"])
	}
	if nested(after, "status", "availableReplicas") != int64(2) {
		t.Errorf("undo returned before the re-created deployment rolled out: %v", after.Object["status"])
	}
}

func TestE2EPlansWriteNothing(t *testing.T) {
	e := newE2E(t)
	m := webManifest("web", "app:v1", 2, nil)
	if _, err := (deployKind{}).Run(e.ctx, e.env(nil), deployCfg([]string{m}, nil, nil)); err != nil {
		t.Fatal(err)
	}
	deployed := len(e.journal.records()) // the snapshot and the note after the apply
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new}\n"
	text, err := deployKind{}.Plan(e.ctx, e.env(nil), deployCfg([]string{m, cm}, map[string]string{"app": "app:v2"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"~ update deployment/web in namespace " + e.ns, "app:v2", "+ create configmap/new"} {
		if !strings.Contains(text, want) {
			t.Errorf("deploy plan lacks %q:\n%s", want, text)
		}
	}
	if text, err = (scaleKind{}).Plan(e.ctx, e.env(nil), scaleCfg("web", 5)); err != nil || !strings.Contains(text, "2 → 5") {
		t.Errorf("scale plan = %q, %v", text, err)
	}
	if text, err = (deleteKind{}).Plan(e.ctx, e.env(nil), deleteCfg("deploy", "web")); err != nil || !strings.HasPrefix(text, "- delete deployment/web") {
		t.Errorf("delete plan = %q, %v", text, err)
	}
	d := e.get(e.deployment("web"))
	if containerImage(t, d) != "app:v1" || nested(d, "spec", "replicas") != int64(2) || d.GetDeletionTimestamp() != nil {
		t.Error("a plan changed the deployment")
	}
	if e.get(e.ref("ConfigMap", "configmaps", "new")) != nil {
		t.Error("a plan created the configmap")
	}
	if n := len(e.journal.records()); n != deployed {
		t.Errorf("plans journaled %d records; only the real deploy should have", n-deployed)
	}
}
