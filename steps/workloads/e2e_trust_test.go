package workloads

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// The deploy created a Deployment; someone deleted it and created their own
// of the same name (without the run's mark). The undo leaves theirs alone
// and names it.
func TestE2EDeployUndoLeavesARecreatedObject(t *testing.T) {
	e := newE2E(t)
	noWait := false
	cfg := deployCfg([]string{webManifest("web", "app:v2", 1, nil)}, nil, &noWait)
	if _, err := (deployKind{}).Run(e.ctx, e.env(nil), cfg); err != nil {
		t.Fatal(err)
	}
	web := e.deployment("web")
	ours := e.get(web)
	if kube.MarkedBy(ours) != "run-1" {
		t.Fatalf("the created deployment carries no run mark: %v", ours.GetAnnotations())
	}
	bg := metav1.DeletePropagationBackground
	if err := e.c.Resource(web).Delete(e.ctx, "web", metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.WaitGone(e.ctx, web, nil); err != nil {
		t.Fatal(err)
	}
	theirs := kube.Clean(ours)
	theirs.SetAnnotations(nil)
	if _, err := e.c.Resource(web).Create(e.ctx, theirs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	err := (deployKind{}).Undo(e.ctx, e.undoEnv(cfg), e.journal.records())
	var de *steps.DriftError
	if !errors.As(err, &de) || !strings.Contains(de.Error(), "deployment/web in namespace "+e.ns+": deleted and re-created since this run created it") {
		t.Fatalf("err = %v, want a DriftError naming deployment/web", err)
	}
	if now := e.get(web); now == nil || now.GetDeletionTimestamp() != nil || now.GetUID() == ours.GetUID() {
		t.Fatalf("the re-created deployment was not left alone: %v", now)
	}
}

// Forged records: a "did not exist" snapshot naming an unrelated, existing
// ConfigMap and Deployment. Whether the undo can check them against the
// stage's manifests or only against the run's mark, they are refused and
// the objects stay.
func TestE2EDeployUndoRefusesForgedRecords(t *testing.T) {
	e := newE2E(t)
	cms := e.c.Typed.CoreV1().ConfigMaps(e.ns)
	if _, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "payments"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	noWait := false
	other := deployCfg([]string{webManifest("billing", "app:v1", 1, nil)}, nil, &noWait)
	if _, err := (deployKind{}).Run(e.ctx, e.env(nil), other); err != nil {
		t.Fatal(err)
	}
	// Its own stage made billing; the stage being undone deploys web.
	forged := func(r kube.Ref) json.RawMessage {
		raw, err := json.Marshal(kube.Snapshot{Ref: r})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	cmRef := e.ref("ConfigMap", "configmaps", "payments")
	records := []json.RawMessage{forged(cmRef), forged(e.deployment("billing"))}
	cfg := deployCfg([]string{webManifest("web", "app:v2", 1, nil)}, nil, &noWait)

	err := (deployKind{}).Undo(e.ctx, e.undoEnv(cfg), records)
	var te *steps.TargetError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "configmap/payments") || !strings.Contains(err.Error(), "deployment/billing") ||
		!strings.Contains(err.Error(), "the stage does not target it") {
		t.Fatalf("err = %v, want TargetErrors for both records", err)
	}
	// The config cannot be evaluated: the mark decides. The ConfigMap has
	// none; billing has the mark of another run.
	unknownEnv := e.undoEnv(deployCfgUnknown())
	unknownEnv.RunID = "run-2"
	err = (deployKind{}).Undo(e.ctx, unknownEnv, records)
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "carries no cutover.dev/run mark") || !strings.Contains(err.Error(), "carries the mark of run run-1") {
		t.Fatalf("err = %v, want TargetErrors naming the missing and the foreign mark", err)
	}
	if e.get(cmRef) == nil {
		t.Error("the configmap named by a forged record was deleted")
	}
	if d := e.get(e.deployment("billing")); d == nil || d.GetDeletionTimestamp() != nil {
		t.Error("the deployment named by a forged record was deleted")
	}
}

// deployCfgUnknown is a deploy block whose manifests the undo cannot
// evaluate (they came from a stage output that is gone).
func deployCfgUnknown() cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"manifests": cty.UnknownVal(cty.List(cty.String)), "images": cty.NullVal(cty.Map(cty.String)),
		"namespace": cty.NullVal(cty.String), "wait": cty.NullVal(cty.Bool),
	})
}

// After the scale, an autoscaler (here: a direct write to the scale
// subresource, as an HPA does) changes the replicas: the undo leaves them
// and names the workload; --force puts the recorded count back.
func TestE2EScaleUndoLeavesAnAutoscalersCount(t *testing.T) {
	e := newE2E(t)
	noWait := false
	if _, err := (deployKind{}).Run(e.ctx, e.env(nil), deployCfg([]string{webManifest("web", "app:v1", 1, nil)}, nil, &noWait)); err != nil {
		t.Fatal(err)
	}
	e.journal = &journal{}
	cfg := scaleCfg("web", 2)
	if _, err := (scaleKind{}).Run(e.ctx, e.env(nil), cfg); err != nil {
		t.Fatal(err)
	}
	hpa := []byte(`{"spec":{"replicas":3}}`)
	if _, err := e.c.Resource(e.deployment("web")).Patch(e.ctx, "web", types.MergePatchType, hpa, metav1.PatchOptions{FieldManager: "hpa"}, "scale"); err != nil {
		t.Fatal(err)
	}
	err := (scaleKind{}).Undo(e.ctx, e.undoEnv(cfg), e.journal.records())
	var de *steps.DriftError
	if !errors.As(err, &de) || !strings.Contains(de.Error(), "deployment/web in namespace "+e.ns+": replicas changed since this run set them (now 3") {
		t.Fatalf("err = %v, want a DriftError naming deployment/web", err)
	}
	if n := nested(e.get(e.deployment("web")), "spec", "replicas"); n != int64(3) {
		t.Fatalf("replicas = %v, want the autoscaler's 3 left as is", n)
	}
	force := e.undoEnv(cfg)
	force.Force = true
	if err := (scaleKind{}).Undo(e.ctx, force, e.journal.records()); err != nil {
		t.Fatal(err)
	}
	if n := nested(e.get(e.deployment("web")), "spec", "replicas"); n != int64(1) {
		t.Fatalf("replicas after --force = %v, want 1", n)
	}
}

// Undo restores the fields the deploy set and keeps what others changed in
// fields it did not set (an annotation, the replicas an HPA owns).
func TestE2EDeployUndoKeepsOthersFields(t *testing.T) {
	e := newE2E(t)
	noWait := false
	v1 := strings.Replace(webManifest("web", "app:v1", 1, nil), "  replicas: 1\n", "", 1)
	if _, err := (deployKind{}).Run(e.ctx, e.env(nil), deployCfg([]string{v1}, nil, &noWait)); err != nil {
		t.Fatal(err)
	}
	e.journal = &journal{}
	env := e.env(nil)
	env.RunID = "run-2"
	cfg := deployCfg([]string{v1}, map[string]string{"app": "app:v2"}, &noWait)
	if _, err := (deployKind{}).Run(e.ctx, env, cfg); err != nil {
		t.Fatal(err)
	}
	web := e.deployment("web")
	other := []byte(`{"metadata":{"annotations":{"team":"shop"}},"spec":{"replicas":4}}`)
	if _, err := e.c.Resource(web).Patch(e.ctx, "web", types.MergePatchType, other, metav1.PatchOptions{FieldManager: "someone"}); err != nil {
		t.Fatal(err)
	}
	undo := e.undoEnv(cfg)
	undo.RunID = "run-2"
	if err := (deployKind{}).Undo(e.ctx, undo, e.journal.records()); err != nil {
		t.Fatal(err)
	}
	d := e.get(web)
	if img := containerImage(t, d); img != "app:v1" {
		t.Errorf("image after undo = %s, want app:v1", img)
	}
	if d.GetAnnotations()["team"] != "shop" || nested(d, "spec", "replicas") != int64(4) {
		t.Errorf("undo clobbered fields the deploy did not set: annotations %v, replicas %v", d.GetAnnotations(), nested(d, "spec", "replicas"))
	}
	if kube.MarkedBy(d) != "run-1" {
		t.Errorf("mark after undo = %q, want the one from before the undone run", kube.MarkedBy(d))
	}
}
