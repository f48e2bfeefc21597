package route

import (
	"github.com/zclconf/go-cty/cty"

	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func svcWith(name string, sel map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID("uid-" + name)},
		Spec: corev1.ServiceSpec{Selector: sel}}
}

// After the switch, a person re-points the selector: the undo leaves it,
// names the Service in a DriftError, and --force restores it.
func TestFakeSwitchSelectorDrift(t *testing.T) {
	var recs []json.RawMessage
	env, cs := fakeEnv(t, &recs, svcWith("web", map[string]string{"app": "web", "version": "v1"}),
		readyPod("web-v2", map[string]string{"app": "web", "version": "v2"}, true))
	k := switchSelector{}
	ctx := context.Background()
	cfg := cfgOf(t, k, "service = \"web\"\nwait_endpoints = false\nselector = { version = \"v2\" }")
	if _, err := k.Run(ctx, env, cfg); err != nil {
		t.Fatal(err)
	}
	svc, _ := cs.CoreV1().Services("shop").Get(ctx, "web", metav1.GetOptions{})
	if svc.Annotations[kube.AnnotationRun] != "run-1" {
		t.Errorf("the switch did not mark the service: %v", svc.Annotations)
	}
	svc.Spec.Selector = map[string]string{"app": "web", "version": "hotfix"}
	if _, err := cs.CoreV1().Services("shop").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.Config = cfg
	err := k.Undo(ctx, env, recs)
	var de *steps.DriftError
	if !errors.As(err, &de) || len(de.Changed) != 1 || !strings.Contains(de.Changed[0], "service/web in namespace shop: selector changed since this run set it") {
		t.Fatalf("err = %v, want a DriftError naming service/web", err)
	}
	got, _ := cs.CoreV1().Services("shop").Get(ctx, "web", metav1.GetOptions{})
	if got.Spec.Selector["version"] != "hotfix" {
		t.Fatalf("the person's selector was overwritten: %v", got.Spec.Selector)
	}
	env.Force = true
	if err := k.Undo(ctx, env, recs); err != nil {
		t.Fatal(err)
	}
	got, _ = cs.CoreV1().Services("shop").Get(ctx, "web", metav1.GetOptions{})
	if want := map[string]string{"app": "web", "version": "v1"}; !reflect.DeepEqual(got.Spec.Selector, want) {
		t.Fatalf("selector after --force = %v, want %v", got.Spec.Selector, want)
	}
}

// Without the note written after the switch (the process died), the undo
// compares the live selector with the one the record says the switch set.
func TestFakeSwitchSelectorDriftWithoutNote(t *testing.T) {
	var recs []json.RawMessage
	env, cs := fakeEnv(t, &recs, svcWith("web", map[string]string{"app": "web", "version": "v1"}),
		readyPod("web-v2", map[string]string{"app": "web", "version": "v2"}, true))
	env.Note = nil
	k := switchSelector{}
	ctx := context.Background()
	cfg := cfgOf(t, k, "service = \"web\"\nwait_endpoints = false\nselector = { version = \"v2\" }")
	if _, err := k.Run(ctx, env, cfg); err != nil {
		t.Fatal(err)
	}
	svc, _ := cs.CoreV1().Services("shop").Get(ctx, "web", metav1.GetOptions{})
	svc.Spec.Selector["version"] = "v3"
	if _, err := cs.CoreV1().Services("shop").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.Config = cfg
	var de *steps.DriftError
	if err := k.Undo(ctx, env, recs); !errors.As(err, &de) {
		t.Fatalf("err = %v, want a DriftError", err)
	}
}

// A forged record naming a Service the stage does not switch is refused,
// nothing is written for it, and the stage's own Service is still restored.
func TestFakeSwitchSelectorRefusesOtherServices(t *testing.T) {
	var recs []json.RawMessage
	env, cs := fakeEnv(t, &recs, svcWith("web", map[string]string{"app": "web", "version": "v1"}),
		svcWith("payments", map[string]string{"app": "payments"}),
		readyPod("web-v2", map[string]string{"app": "web", "version": "v2"}, true))
	k := switchSelector{}
	ctx := context.Background()
	cfg := cfgOf(t, k, "service = \"web\"\nwait_endpoints = false\nselector = { version = \"v2\" }")
	if _, err := k.Run(ctx, env, cfg); err != nil {
		t.Fatal(err)
	}
	forged, _ := json.Marshal(selectorRecord{Namespace: "shop", Services: []serviceSelector{{Name: "payments", Selector: map[string]string{"app": "evil"}}}})
	env.Config = cfg
	err := k.Undo(ctx, env, append(recs, forged))
	var te *steps.TargetError
	if !errors.As(err, &te) || !strings.Contains(te.Record, "service/payments") {
		t.Fatalf("err = %v, want a TargetError for service/payments", err)
	}
	pay, _ := cs.CoreV1().Services("shop").Get(ctx, "payments", metav1.GetOptions{})
	web, _ := cs.CoreV1().Services("shop").Get(ctx, "web", metav1.GetOptions{})
	if pay.Spec.Selector["app"] != "payments" || web.Spec.Selector["version"] != "v1" {
		t.Fatalf("payments %v (want untouched), web %v (want restored)", pay.Spec.Selector, web.Spec.Selector)
	}

	// Without a config to check against, only marked Services are written.
	env.Config = cfgOf(t, k, "service = \"web\"\nselector = { version = \"v2\" }")
	env.Config = cty.NullVal(env.Config.Type()) // null: cannot be evaluated
	if err := k.Undo(ctx, env, []json.RawMessage{forged}); !errors.As(err, &te) || !strings.Contains(te.Why, "mark") {
		t.Fatalf("err = %v, want a TargetError about the mark", err)
	}
}

// A Service without a selector has endpoints managed by hand: the switch
// refuses it before writing, and the plan says so.
func TestFakeSwitchSelectorRefusesServiceWithoutSelector(t *testing.T) {
	var recs []json.RawMessage
	env, cs := fakeEnv(t, &recs, svcWith("db", nil),
		readyPod("web-v2", map[string]string{"app": "web", "version": "v2"}, true))
	k := switchSelector{}
	cfg := cfgOf(t, k, "service = \"db\"\nselector = { version = \"v2\" }")
	_, err := k.Run(context.Background(), env, cfg)
	if err == nil || !strings.Contains(err.Error(), "service/db in namespace \"shop\" has no selector: its endpoints are managed by hand") {
		t.Fatalf("err = %v", err)
	}
	if w := writes(cs); len(w) != 0 || len(recs) != 0 {
		t.Fatalf("writes %v, records %d; want none", w, len(recs))
	}
	plan, err := k.Plan(context.Background(), env, cfg)
	if err != nil || !strings.Contains(plan, "would be refused") || !strings.Contains(plan, "no selector") {
		t.Fatalf("plan = %q, %v", plan, err)
	}
}
