package analysis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps/stepstest"
)

// e2e gives a test a namespace of its own on the shared control plane and
// a Cluster for it, as the engine would build one from --kubeconfig.
func e2e(t *testing.T) (context.Context, string, *kube.Cluster, kubernetes.Interface) {
	t.Helper()
	ctx, ns, kc := testcluster.Namespace(t, "analysis", 2*time.Minute)
	cl := kube.New(kube.Options{Kubeconfig: kc})
	clients, err := cl.Clients()
	if err != nil {
		t.Fatal(err)
	}
	return ctx, ns, cl, clients.Typed
}

func deployment(name string, replicas int32, annotations map[string]string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/app:v1"}}},
			},
		},
	}
}

// until watches one kind of object in ns until cond holds for an event.
func until(t *testing.T, ctx context.Context, lw cache.ListerWatcher, obj runtime.Object, what string, cond func(watch.Event) bool) {
	t.Helper()
	_, err := watchtools.UntilWithSync(ctx, lw, obj, nil, func(e watch.Event) (bool, error) { return cond(e), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func TestKubernetesReadyPods(t *testing.T) {
	ctx, ns, cl, cs := e2e(t)
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, deployment("web", 2, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lw := cache.NewListWatchFromClient(cs.AppsV1().RESTClient(), "deployments", ns, fields.OneTermEqualSelector("metadata.name", "web"))
	until(t, ctx, lw, &appsv1.Deployment{}, "web to have 2 ready replicas", func(e watch.Event) bool {
		d, ok := e.Object.(*appsv1.Deployment)
		return ok && d.Status.ReadyReplicas == 2
	})

	for _, kind := range []string{"Deployment", "deploy", "deployments.apps"} {
		t.Run(kind, func(t *testing.T) {
			src := fmt.Sprintf("kubernetes {\n kind = %q\n name = \"web\"\n condition = result.ready_pods == 2 && result.restarts == 0 && result.status.readyReplicas == 2\n}", kind)
			env, cfg := inline(t, src, nil)
			env.Cluster = cl
			out, _, err := runFake(t, env, cfg)
			if err != nil {
				t.Fatal(err)
			}
			last := out.GetAttr("last")
			if stepstest.Int(last, "pods", -1) != 2 || stepstest.Str(last, "kind") != "Deployment" || stepstest.Str(last.GetAttr("object").GetAttr("metadata"), "namespace") != ns {
				t.Errorf("last = pods %d, kind %q", stepstest.Int(last, "pods", -1), stepstest.Str(last, "kind"))
			}
			m := out.GetAttr("measurements").Index(cty.NumberIntVal(0))
			if got := stepstest.Str(m, "value"); got != "ready 2/2 pods, 0 restarts" {
				t.Errorf("value = %q", got)
			}
		})
	}

	// A Service selects pods with a plain map.
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	env, cfg := inline(t, "kubernetes {\n kind = \"Service\"\n name = \"web\"\n condition = result.ready_pods == 2\n}", nil)
	env.Cluster = cl
	if out, _, err := runFake(t, env, cfg); err != nil {
		t.Fatalf("service: %v (%#v)", err, out.GetAttr("last"))
	}
}

func TestKubernetesRestartsFailTheGate(t *testing.T) {
	ctx, ns, cl, cs := e2e(t)
	d := deployment("crashy", 1, map[string]string{testcluster.AnnotationFail: "true"})
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lw := cache.NewFilteredListWatchFromClient(cs.CoreV1().RESTClient(), "pods", ns, func(o *metav1.ListOptions) { o.LabelSelector = "app=crashy" })
	until(t, ctx, lw, &corev1.Pod{}, "a crashy pod to restart", func(e watch.Event) bool {
		p, ok := e.Object.(*corev1.Pod)
		return ok && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount > 0
	})
	env, cfg := inline(t, "kubernetes {\n kind = \"Deployment\"\n name = \"crashy\"\n condition = result.restarts == 0\n}", nil)
	env.Cluster = cl
	out, _, err := runFake(t, env, cfg)
	var v *Verdict
	if !errors.As(err, &v) || v.Phase != Failed {
		t.Fatalf("err = %v, want a Failed verdict", err)
	}
	if r := stepstest.Int(out.GetAttr("last"), "restarts", 0); r < 1 {
		t.Errorf("restarts = %d", r)
	}
	if !strings.Contains(err.Error(), "ready 0/1 pods") {
		t.Errorf("err = %q, want the pod counts quoted", err)
	}
}

func TestKubernetesMissingObject(t *testing.T) {
	_, ns, cl, _ := e2e(t)
	env, cfg := inline(t, "consecutive_error_limit = 1\nkubernetes {\n kind = \"Deployment\"\n name = \"missing\"\n condition = result.ready_pods > 0\n}", nil)
	env.Cluster = cl
	_, _, err := runFake(t, env, cfg)
	var v *Verdict
	want := fmt.Sprintf(`Deployment "missing" not found in namespace %q`, ns)
	if !errors.As(err, &v) || v.Phase != Error || v.Errors != 2 || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want an Error verdict after 2 errors saying %s", err, want)
	}

	env, cfg = inline(t, "consecutive_error_limit = 0\nkubernetes {\n kind = \"Frobnicator\"\n name = \"x\"\n condition = true\n}", nil)
	env.Cluster = cl
	if _, _, err := runFake(t, env, cfg); err == nil || !strings.Contains(err.Error(), `kind "Frobnicator" is not served`) {
		t.Fatalf("err = %v", err)
	}
}

func TestKubernetesObjectWithoutPods(t *testing.T) {
	ctx, ns, cl, cs := e2e(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "flags"}, Data: map[string]string{"mode": "drain"}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	env, cfg := inline(t, "kubernetes {\n kind = \"ConfigMap\"\n name = \"flags\"\n condition = result.data.mode == \"drain\" && result.ready_pods == null\n}", nil)
	env.Cluster = cl
	if out, _, err := runFake(t, env, cfg); err != nil {
		t.Fatalf("err = %v, last = %#v", err, out.GetAttr("last"))
	}
}
