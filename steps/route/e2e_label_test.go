package route

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (s *scenario) replicaSet(version string, n int32, extra map[string]string) *appsv1.ReplicaSet {
	s.t.Helper()
	sel := map[string]string{"app": "web", "version": version}
	lbl := map[string]string{}
	for k, v := range sel {
		lbl[k] = v
	}
	for k, v := range extra {
		lbl[k] = v
	}
	rs, err := s.cl.Typed.AppsV1().ReplicaSets(s.ns).Create(s.ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + version},
		Spec: appsv1.ReplicaSetSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: podTemplate(lbl, nil)},
	}, metav1.CreateOptions{})
	s.must(err)
	return rs
}

func (s *scenario) podLabels(selector string) map[string]map[string]string {
	s.t.Helper()
	pods, err := s.cl.Typed.CoreV1().Pods(s.ns).List(s.ctx, metav1.ListOptions{LabelSelector: selector})
	s.must(err)
	out := map[string]map[string]string{}
	for _, p := range pods.Items {
		out[p.Name] = p.Labels
	}
	return out
}

// Red/black on ReplicaSets (CODING CD): the Service selects createBy; the
// label moves from the old ReplicaSet's pods to the new one's, and the
// EndpointSlices follow without any pod restarting. Undo (in reverse stage
// order) brings every label back.
func TestE2ELabelRedBlack(t *testing.T) {
	s := newScenario(t)
	s.replicaSet("v1", 2, map[string]string{"createBy": "cd"})
	s.replicaSet("v2", 2, nil)
	oldPods := s.waitReadyPods("app=web,version=v1", 2)
	newPods := s.waitReadyPods("app=web,version=v2", 2)
	s.service("web", map[string]string{"app": "web", "createBy": "cd"})
	s.waitEndpointPods("web", oldPods)
	oldBefore, newBefore := s.podLabels("version=v1"), s.podLabels("version=v2")

	k := labelKind{}
	out, err := k.Run(s.ctx, s.env, cfgOf(t, k, `
name = "web-v2"
add  = { createBy = "cd" }`))
	s.must(err)
	addRecs := s.takeRecords()
	if pp := out.GetAttr("previous_pods"); pp.LengthInt() != 2 {
		t.Fatalf("previous_pods = %#v, want the 2 pods of web-v2", pp)
	}
	if _, ok := out.GetAttr("previous").AsValueMap()["createBy"]; ok {
		t.Fatal("previous template labels of web-v2 must not have createBy")
	}
	_, err = k.Run(s.ctx, s.env, cfgOf(t, k, `
kind   = "ReplicaSet"
name   = "web-v1"
remove = ["createBy"]`))
	s.must(err)
	removeRecs := s.takeRecords()

	s.waitEndpointPods("web", newPods)
	rs, err := s.cl.Typed.AppsV1().ReplicaSets(s.ns).Get(s.ctx, "web-v2", metav1.GetOptions{})
	s.must(err)
	if rs.Spec.Template.Labels["createBy"] != "cd" {
		t.Fatalf("web-v2 template labels = %v, want createBy=cd", rs.Spec.Template.Labels)
	}
	for p, l := range s.podLabels("version=v1") {
		if _, ok := l["createBy"]; ok {
			t.Fatalf("old pod %s still has createBy: %v", p, l)
		}
	}

	// The undo of the later stage first, as the engine does.
	s.must(k.Undo(s.ctx, s.env, removeRecs))
	s.must(k.Undo(s.ctx, s.env, addRecs))
	if got := s.podLabels("version=v1"); !reflect.DeepEqual(got, oldBefore) {
		t.Fatalf("old pods after undo = %v, want %v", got, oldBefore)
	}
	if got := s.podLabels("version=v2"); !reflect.DeepEqual(got, newBefore) {
		t.Fatalf("new pods after undo = %v, want %v", got, newBefore)
	}
	rs, err = s.cl.Typed.AppsV1().ReplicaSets(s.ns).Get(s.ctx, "web-v2", metav1.GetOptions{})
	s.must(err)
	if _, ok := rs.Spec.Template.Labels["createBy"]; ok {
		t.Fatalf("web-v2 template after undo = %v", rs.Spec.Template.Labels)
	}
	s.waitEndpointPods("web", oldPods)

	// Guards: a selector label, and a ReplicaSet under a Deployment.
	_, err = k.Run(s.ctx, s.env, cfgOf(t, k, `
name   = "web-v1"
remove = ["version"]`))
	if err == nil || !strings.Contains(err.Error(), `selects its pods by label "version"`) {
		t.Fatalf("removing a selector label must be refused, got %v", err)
	}
	s.deployment("v3", 1, nil)
	s.waitReadyPods("app=web,version=v3", 1)
	_, err = k.Run(s.ctx, s.env, cfgOf(t, k, `
selector = { version = "v3" }
add      = { createBy = "cd" }`))
	if err == nil || !strings.Contains(err.Error(), `controlled by deployment "web-v3"`) {
		t.Fatalf("a Deployment's ReplicaSet must be refused, got %v", err)
	}
	if s.nrecords() != 0 {
		t.Fatal("refused steps must journal nothing")
	}
}

// kind = "Deployment" changes the pod template (which rolls); undo restores
// it.
func TestE2ELabelDeployment(t *testing.T) {
	s := newScenario(t)
	s.deployment("v1", 1, nil)
	k := labelKind{}
	_, err := k.Run(s.ctx, s.env, cfgOf(t, k, `
kind = "Deployment"
name = "web-v1"
add  = { track = "stable" }`))
	s.must(err)
	d, err := s.cl.Typed.AppsV1().Deployments(s.ns).Get(s.ctx, "web-v1", metav1.GetOptions{})
	s.must(err)
	if d.Spec.Template.Labels["track"] != "stable" {
		t.Fatalf("template labels = %v", d.Spec.Template.Labels)
	}
	s.must(k.Undo(s.ctx, s.env, s.takeRecords()))
	d, err = s.cl.Typed.AppsV1().Deployments(s.ns).Get(s.ctx, "web-v1", metav1.GetOptions{})
	s.must(err)
	if want := map[string]string{"app": "web", "version": "v1"}; !reflect.DeepEqual(d.Spec.Template.Labels, want) {
		t.Fatalf("template labels after undo = %v, want %v", d.Spec.Template.Labels, want)
	}
}
