package route

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// fakeEnv installs a fake clientset holding objs and returns an Env whose
// journal is kept in *recs.
func fakeEnv(t *testing.T, recs *[]json.RawMessage, objs ...runtime.Object) (*steps.Env, *fake.Clientset) {
	t.Helper()
	cs := fake.NewSimpleClientset(objs...)
	env := &steps.Env{Namespace: "shop", RunID: "run-1", Cluster: kube.Of(&kube.Clients{Typed: cs, Namespace: "default"}), Capture: func(r any) error {
		b, err := json.Marshal(r)
		*recs = append(*recs, b)
		return err
	}}
	// Notes go with the records, as the engine journals them.
	env.Note = func(r any) {
		b, err := json.Marshal(r)
		if err != nil {
			t.Error(err)
		}
		*recs = append(*recs, b)
	}
	return env, cs
}

func readyPod(name string, lbl map[string]string, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: lbl},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}}
}

func writes(cs *fake.Clientset) []string {
	var out []string
	for _, a := range cs.Actions() {
		if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

func TestFakeSwitchSelectorUndoNewestFirst(t *testing.T) {
	var recs []json.RawMessage
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web", "version": "v1"}}}
	env, cs := fakeEnv(t, &recs, svc,
		readyPod("web-v2", map[string]string{"app": "web", "version": "v2"}, true),
		readyPod("web-v3", map[string]string{"app": "web", "version": "v3", "tier": "x"}, true))
	k := switchSelector{}
	ctx := context.Background()
	for _, sel := range []string{`{ version = "v2" }`, `{ version = "v3", tier = "x" }`} {
		if _, err := k.Run(ctx, env, cfgOf(t, k, "service = \"web\"\nwait_endpoints = false\nselector = "+sel)); err != nil {
			t.Fatal(err)
		}
	}
	if len(recs) != 4 {
		t.Fatalf("records = %d, want 2 and a note after each switch", len(recs))
	}
	env.Config = cfgOf(t, k, "service = \"web\"\nselector = { version = \"v3\" }")
	if err := k.Undo(ctx, env, recs); err != nil {
		t.Fatal(err)
	}
	got, _ := cs.CoreV1().Services("shop").Get(ctx, "web", metav1.GetOptions{})
	if want := map[string]string{"app": "web", "version": "v1"}; !reflect.DeepEqual(got.Spec.Selector, want) {
		t.Fatalf("selector after undo = %v, want %v", got.Spec.Selector, want)
	}
}

func TestFakeSwitchSelectorGuardWritesNothing(t *testing.T) {
	var recs []json.RawMessage
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web", "version": "v1"}}}
	env, cs := fakeEnv(t, &recs, svc, readyPod("web-v2", map[string]string{"app": "web", "version": "v2"}, false))
	k := switchSelector{}
	_, err := k.Run(context.Background(), env, cfgOf(t, k, "service = \"web\"\nselector = { version = \"v2\" }"))
	if err == nil || !strings.Contains(err.Error(), "none is ready") || !strings.Contains(err.Error(), "web-v2") {
		t.Fatalf("want the not-ready guard naming the pod, got %v", err)
	}
	if w := writes(cs); len(w) != 0 || len(recs) != 0 {
		t.Fatalf("guard must fire before any write or record: writes %v, records %d", w, len(recs))
	}
}

func TestFakeSwitchSelectorWaitsForEndpoints(t *testing.T) {
	var recs []json.RawMessage
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web", "version": "v1"}}}
	env, _ := fakeEnv(t, &recs, svc, readyPod("web-v2", map[string]string{"app": "web", "version": "v2"}, true))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// No EndpointSlice controller runs on a fake: the wait must still be
	// waiting when the stage is cancelled, and say what it saw.
	reports := make(chan string, 10)
	env.Progress = func(m string) {
		reports <- m
		cancel()
	}
	k := switchSelector{}
	_, err := k.Run(ctx, env, cfgOf(t, k, "service = \"web\"\nselector = { version = \"v2\" }"))
	if err == nil || !strings.Contains(err.Error(), "endpoints did not follow") {
		t.Fatalf("want the wait to end with the stage, got %v", err)
	}
	if m := <-reports; !strings.Contains(m, "0 ready endpoints on the new selector") {
		t.Fatalf("progress = %q", m)
	}
}

func TestFakeLabelReplicaSetAndPods(t *testing.T) {
	var recs []json.RawMessage
	sel := map[string]string{"app": "web", "version": "v2"}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-v2", Namespace: "shop", UID: "rs-uid"},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}}}}
	owned := readyPod("web-v2-a", map[string]string{"app": "web", "version": "v2"}, true)
	yes := true
	owned.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-v2", UID: "rs-uid", Controller: &yes}}
	stray := readyPod("web-v2-stray", map[string]string{"app": "web", "version": "v2"}, true)
	env, cs := fakeEnv(t, &recs, rs, owned, stray)
	k := labelKind{}
	ctx := context.Background()
	out, err := k.Run(ctx, env, cfgOf(t, k, "name = \"web-v2\"\nadd = { createBy = \"cd\" }"))
	if err != nil {
		t.Fatal(err)
	}
	if pp := out.GetAttr("previous_pods").AsValueMap(); len(pp) != 1 || pp["web-v2-a"].IsNull() {
		t.Fatalf("previous_pods = %v, want only the owned pod", pp)
	}
	p, _ := cs.CoreV1().Pods("shop").Get(ctx, "web-v2-a", metav1.GetOptions{})
	s, _ := cs.CoreV1().Pods("shop").Get(ctx, "web-v2-stray", metav1.GetOptions{})
	r, _ := cs.AppsV1().ReplicaSets("shop").Get(ctx, "web-v2", metav1.GetOptions{})
	if p.Labels["createBy"] != "cd" || r.Spec.Template.Labels["createBy"] != "cd" || s.Labels["createBy"] != "" {
		t.Fatalf("owned %v, template %v, stray %v", p.Labels, r.Spec.Template.Labels, s.Labels)
	}
	env.Config = cfgOf(t, k, "name = \"web-v2\"\nadd = { createBy = \"cd\" }")
	if err := k.Undo(ctx, env, recs); err != nil {
		t.Fatal(err)
	}
	p, _ = cs.CoreV1().Pods("shop").Get(ctx, "web-v2-a", metav1.GetOptions{})
	r, _ = cs.AppsV1().ReplicaSets("shop").Get(ctx, "web-v2", metav1.GetOptions{})
	if !reflect.DeepEqual(p.Labels, sel) || !reflect.DeepEqual(r.Spec.Template.Labels, sel) {
		t.Fatalf("after undo: pod %v, template %v", p.Labels, r.Spec.Template.Labels)
	}
}
