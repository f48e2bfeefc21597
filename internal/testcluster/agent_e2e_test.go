package testcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/internal/demoapp"
	"github.com/cutoverhq/cutover/internal/demoapp/registry"
	"github.com/cutoverhq/cutover/internal/testcluster/podnet"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// processPodSpec is the pod template of the tests: on a process node,
// probes every second, a 1s preStop sleep.
const processPodSpec = `
nodeSelector: {cutover.dev/node-kind: process}
tolerations: [{key: cutover.dev/node-kind, value: process, effect: NoSchedule}]
terminationGracePeriodSeconds: 5
containers:
- name: app
  image: demo:v1
  ports: [{containerPort: 8080, name: http}]
  readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 1}
  livenessProbe: {httpGet: {path: /live, port: 8080}, periodSeconds: 1, failureThreshold: 1}
  lifecycle: {preStop: {exec: {command: [sh, -c, "sleep 1"]}}}
`

func processPod(t *testing.T, name string, mutate func(*corev1.PodSpec)) *corev1.Pod {
	t.Helper()
	var spec corev1.PodSpec
	if err := yaml.UnmarshalStrict([]byte(processPodSpec), &spec); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&spec)
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "demo", "test": name}}, Spec: spec}
}

// waitPods watches the pods matching selector until check holds.
func waitPods(ctx context.Context, t *testing.T, c *Cluster, ns, selector, what string, check func([]*corev1.Pod) bool) []*corev1.Pod {
	t.Helper()
	lw := cache.NewFilteredListWatchFromClient(c.client.CoreV1().RESTClient(), "pods", ns, func(o *metav1.ListOptions) { o.LabelSelector = selector })
	var last []*corev1.Pod
	err := until(ctx, lw, func(objs []runtime.Object) (bool, error) {
		last = last[:0]
		for _, o := range objs {
			last = append(last, o.(*corev1.Pod))
		}
		sort.Slice(last, func(i, j int) bool { return last[i].Name < last[j].Name })
		return check(last), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s (%s): %v; last seen: %s", what, selector, err, describePods(last))
	}
	return last
}

func describePods(pods []*corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "\n  %s %s ip=%s ready=%v deleting=%v", p.Name, p.Status.Phase, p.Status.PodIP, podReady(p), p.DeletionTimestamp != nil)
		for _, cs := range p.Status.ContainerStatuses {
			fmt.Fprintf(&b, " [%s restarts=%d %+v]", cs.Name, cs.RestartCount, cs.State)
		}
	}
	return b.String()
}

func podReady(p *corev1.Pod) bool {
	return conditionStatus(p.Status.Conditions, corev1.PodReady) == corev1.ConditionTrue
}

func readyCount(pods []*corev1.Pod) int {
	n := 0
	for _, p := range pods {
		if podReady(p) && p.DeletionTimestamp == nil {
			n++
		}
	}
	return n
}

// podEvents lists the agent's events of a pod, oldest first.
func podEvents(ctx context.Context, t *testing.T, c *Cluster, ns, pod string) []corev1.Event {
	t.Helper()
	list, err := c.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
	if err != nil {
		t.Fatal(err)
	}
	evs := list.Items
	sort.Slice(evs, func(i, j int) bool { return evs[i].EventTime.Before(&evs[j].EventTime) })
	return evs
}

// eventTimes maps reason -> time of its first event; waits for want.
func eventTimes(ctx context.Context, t *testing.T, c *Cluster, ns, pod string, want ...string) map[string]time.Time {
	t.Helper()
	lw := cache.NewFilteredListWatchFromClient(c.client.CoreV1().RESTClient(), "events", ns, func(o *metav1.ListOptions) { o.FieldSelector = "involvedObject.name=" + pod })
	times := map[string]time.Time{}
	err := until(ctx, lw, func(objs []runtime.Object) (bool, error) {
		for _, o := range objs {
			e := o.(*corev1.Event)
			if old, ok := times[e.Reason]; !ok || e.EventTime.Time.Before(old) {
				times[e.Reason] = e.EventTime.Time
			}
		}
		for _, r := range want {
			if _, ok := times[r]; !ok {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("events %v of %s: %v (have %v)", want, pod, err, times)
	}
	return times
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// Two replicas of a Deployment on the process nodes become Ready with
// loopback addresses of their own, answer their version, register, and
// appear in the Service's EndpointSlice.
func TestProcessPodsServe(t *testing.T) {
	t.Parallel()
	ctx, ns, _ := Namespace(t, "process-serve", time.Minute)
	c := Running()
	pod := processPod(t, "x", nil)
	labels := map[string]string{"app": "demo"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "demo"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod.Spec},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "demo"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if _, err := c.client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(ctx, t, c, ns, "app=demo", "2 Ready pods", func(p []*corev1.Pod) bool { return readyCount(p) == 2 })
	seen := map[string]bool{}
	for _, p := range pods {
		ip := p.Status.PodIP
		lo := podnet.Local(ip)
		if !strings.HasPrefix(ip, "10.") || !strings.HasPrefix(lo, "127.") || lo == ip || seen[ip] || !strings.HasPrefix(p.Spec.NodeName, "process-node-") {
			t.Fatalf("pod %s on %s has IP %q (seen %v)", p.Name, p.Spec.NodeName, ip, seen)
		}
		seen[ip] = true
		resp, body := get(t, "http://"+lo+":8080/")
		if resp.StatusCode != 200 || resp.Header.Get(demoapp.HeaderVersion) != "v1" || resp.Header.Get(demoapp.HeaderPod) != p.Name {
			t.Errorf("pod %s answered %s %v %s", p.Name, resp.Status, resp.Header, body)
		}
		for _, cond := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
			if conditionStatus(p.Status.Conditions, cond) != corev1.ConditionTrue {
				t.Errorf("pod %s: condition %s is not True: %+v", p.Name, cond, p.Status.Conditions)
			}
		}
		if cs := p.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Running == nil || !cs[0].Ready || cs[0].RestartCount != 0 {
			t.Errorf("pod %s container status %+v", p.Name, cs)
		}
		// The apiserver's pod proxy reaches it too (podnet.ServeConnect).
		res := c.client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name(p.Name + ":8080").
			SubResource("proxy").Suffix("actuator/pause").Do(ctx)
		var code int
		raw, err := res.StatusCode(&code).Raw()
		if err != nil || code != 200 || !strings.Contains(string(raw), "DOWN") {
			t.Errorf("POST through the pod proxy of %s: %d %s %v", p.Name, code, raw, err)
		}
	}
	rc := &registry.Client{URL: c.RegistryURL(ns)}
	list, err := rc.Instances(ctx, "demo")
	if err != nil || len(list) != 2 || list[0].Status != registry.StatusDown || list[1].Status != registry.StatusDown || !seen[podnet.PodIP(strings.TrimSuffix(list[0].Address, ":8080"))] {
		t.Errorf("registry: %+v %v", list, err)
	}
	// The endpointslice controller reads the pod IPs and readiness.
	lw := cache.NewFilteredListWatchFromClient(c.client.DiscoveryV1().RESTClient(), "endpointslices", ns, func(o *metav1.ListOptions) {
		o.LabelSelector = "kubernetes.io/service-name=demo"
	})
	var slices []runtime.Object
	err = until(ctx, lw, func(objs []runtime.Object) (bool, error) {
		ready := 0
		slices = objs
		for _, o := range objs {
			for _, ep := range o.(*discoveryv1.EndpointSlice).Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready && seen[ep.Addresses[0]] {
					ready++
				}
			}
		}
		return ready == 2, nil
	})
	if err != nil {
		t.Fatalf("endpointslice never listed both pod IPs ready: %v; last seen %s", err, mustJSON(t, slices))
	}
}

// Deleting a pod runs its preStop hook, then SIGTERM; the demo server
// finishes the request in flight and the pod is removed.
func TestProcessPodDrainsOnDelete(t *testing.T) {
	t.Parallel()
	ctx, ns, _ := Namespace(t, "process-drain", 3*time.Minute)
	c := Running()
	pod := createPod(ctx, t, c, ns, processPod(t, "drain", nil))
	ip := podnet.Local(pod.Status.PodIP)

	wrote := make(chan struct{})
	result := make(chan string, 1)
	go func() {
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, "http://"+ip+":8080/?sleep=3s", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			result <- err.Error()
			return
		}
		resp.Body.Close()
		result <- resp.Status + " " + resp.Header.Get(demoapp.HeaderVersion)
	}()
	<-wrote
	deleted := time.Now()
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := <-result; got != "200 OK v1" {
		t.Errorf("the request in flight got %q", got)
	}
	waitPods(ctx, t, c, ns, "test=drain", "the pod's removal", func(p []*corev1.Pod) bool { return len(p) == 0 })
	gone := time.Since(deleted)
	ev := eventTimes(ctx, t, c, ns, pod.Name, "Killing", "PreStopHook", "SIGTERM", "Exited")
	if !(ev["Killing"].Before(ev["PreStopHook"]) && ev["PreStopHook"].Before(ev["SIGTERM"]) && ev["SIGTERM"].Before(ev["Exited"])) {
		t.Errorf("lifecycle out of order: %v", ev)
	}
	if hook := ev["SIGTERM"].Sub(ev["Killing"]); hook < time.Second {
		t.Errorf("SIGTERM %s after the stop began: the 1s preStop sleep did not run first", hook)
	}
	if _, killed := ev["SIGKILL"]; killed {
		t.Errorf("the server was SIGKILLed: %v", ev)
	}
	// The request slept 3s: the server exited only once it was answered.
	if gone < 3*time.Second {
		t.Errorf("pod removed %s after the delete, before the in-flight request finished", gone)
	}
	_, err := net.DialTimeout("tcp", ip+":8080", time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after removal: %v", err)
	}
	evs, _ := (&registry.Client{URL: c.RegistryURL(ns)}).Events(ctx)
	if len(evs) < 2 || evs[len(evs)-1].Event != "cancelled" || evs[len(evs)-1].ID != pod.Name {
		t.Errorf("registry events: %+v", evs)
	}
	t.Logf("removed %s after the delete; events %v", gone.Round(time.Millisecond), podEvents(ctx, t, c, ns, pod.Name))
}

// A server that ignores SIGTERM is SIGKILLed once the grace period is over.
func TestProcessPodIgnoringSIGTERMIsKilled(t *testing.T) {
	t.Parallel()
	ctx, ns, _ := Namespace(t, "process-kill", 3*time.Minute)
	c := Running()
	pod := createPod(ctx, t, c, ns, processPod(t, "stubborn", func(s *corev1.PodSpec) {
		s.TerminationGracePeriodSeconds = ptr.To[int64](2)
		s.Containers[0].Lifecycle = nil
		s.Containers[0].Env = []corev1.EnvVar{{Name: demoapp.EnvIgnoreSIGTERM, Value: "true"}}
	}))
	var final *corev1.ContainerStateTerminated
	lw := cache.NewFilteredListWatchFromClient(c.client.CoreV1().RESTClient(), "pods", ns, func(o *metav1.ListOptions) { o.LabelSelector = "test=stubborn" })
	deleted := time.Now()
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err := until(ctx, lw, func(objs []runtime.Object) (bool, error) {
		for _, o := range objs {
			if cs := o.(*corev1.Pod).Status.ContainerStatuses; len(cs) == 1 && cs[0].State.Terminated != nil {
				final = cs[0].State.Terminated
			}
		}
		return len(objs) == 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gone := time.Since(deleted)
	ev := eventTimes(ctx, t, c, ns, pod.Name, "SIGTERM", "SIGKILL")
	if d := ev["SIGKILL"].Sub(ev["SIGTERM"]); d < 2*time.Second {
		t.Errorf("SIGKILL %s after SIGTERM, before the 2s grace period", d)
	}
	if final == nil || final.ExitCode != 137 {
		t.Errorf("final state %+v, want exit code 137", final)
	}
	t.Logf("removed %s after the delete", gone.Round(time.Millisecond))
}

// A failing liveness probe restarts the container, and the restarts count.
func TestProcessPodLivenessRestarts(t *testing.T) {
	t.Parallel()
	ctx, ns, _ := Namespace(t, "process-live", 3*time.Minute)
	c := Running()
	pod := createPod(ctx, t, c, ns, processPod(t, "sick", func(s *corev1.PodSpec) {
		s.Containers[0].Lifecycle = nil
		s.Containers[0].Env = []corev1.EnvVar{{Name: demoapp.EnvFailLivenessAfter, Value: "1500ms"}}
	}))
	firstIP := pod.Status.PodIP
	pods := waitPods(ctx, t, c, ns, "test=sick", "2 restarts", func(p []*corev1.Pod) bool {
		return len(p) == 1 && p[0].Status.ContainerStatuses[0].RestartCount >= 2
	})
	cs := pods[0].Status.ContainerStatuses[0]
	if cs.LastTerminationState.Terminated == nil || pods[0].Status.PodIP != firstIP {
		t.Errorf("after restarts: %s", describePods(pods))
	}
	ev := eventTimes(ctx, t, c, ns, pod.Name, "Unhealthy", "Killing", "Started")
	t.Logf("restarts %d; events %v", cs.RestartCount, ev)
}

func mustJSON(t *testing.T, v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func createPod(ctx context.Context, t *testing.T, c *Cluster, ns string, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(ctx, t, c, ns, "test="+pod.Labels["test"], pod.Name+" Ready", func(p []*corev1.Pod) bool { return readyCount(p) == 1 })
	return pods[0]
}
