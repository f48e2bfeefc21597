package releasebench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/yaml"

	"github.com/cutoverhq/cutover/events"
)

// bareReplicas is the size of each colour in testdata/bare-blue-green.
const bareReplicas = 2

// BenchmarkBareBlueGreen holds the seed's blue/green with nothing added —
// deploy green and wait for it, switch the Service's selector, scale blue
// to zero — by `cutover run testdata/bare-blue-green` against the seed's
// five kubectl commands (apply, rollout status, patch service, get
// endpoints, scale), each run as a process of its own. Everything goes
// through the counting proxy, from the same starting state (blue demo-v1
// Ready behind Service demo, made around the proxy), with a cold discovery
// cache: a fresh HOME for cutover, a fresh --cache-dir shared by the five
// kubectl commands as in one CI job.
//
// Per op: the release v1 → v2 in a fresh namespace (what a first run
// costs), v2 → v3 in the same namespace (a later run: an earlier run's
// journal and lock exist), and the kubectl procedure v1 → v2 in another
// namespace; op 0 also counts the kubectl procedure with a cold cache for
// each command. The time beyond readiness of a release is its wall time
// (process start of the first command to exit of the last) minus the time
// the green pods themselves took: from the Deployment's creation to its
// last pod Ready, both as seen by this benchmark's watches.
//
// The time per op is the first cutover release alone.
func BenchmarkBareBlueGreen(b *testing.B) {
	x := newBench(b)
	dir, err := filepath.Abs(filepath.Join("testdata", "bare-blue-green"))
	must(b, err, "pipeline dir")
	self, err := os.Executable()
	must(b, err, "test binary")
	proxy, err := startCountingProxy(x.c)
	must(b, err, "counting proxy")
	defer proxy.Close()

	var first, later, kub counts
	var cutBeyond, kubBeyond, readiness []time.Duration
	var parts breakdown
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		ns, _ := x.namespace("bench-bare-cutover")
		x.bareBlue(ns)
		counted := writeFile(b, "cutover.kubeconfig", "")
		must(b, proxy.writeKubeconfig(counted, ns), "kubeconfig")

		for j, v := range []struct{ green, blue string }{{"v2", "v1"}, {"v3", "v2"}} {
			ready := x.watchGreen(ns, v.green)
			proxy.reset()
			if j == 0 {
				b.StartTimer()
			}
			r := x.bareRun(counted, dir, v.green)
			if j == 0 {
				b.StopTimer()
			}
			got := proxy.take()
			x.checkReleased(ns, v.green, v.blue, 0)
			rd := x.readyWindow(ready, v.green)
			readiness = append(readiness, rd.ready.Sub(rd.created))
			cutBeyond = append(cutBeyond, r.end.Sub(r.start)-rd.ready.Sub(rd.created))
			parts.add(r, rd, got.First)
			if j == 0 {
				add(&first, got)
			} else {
				add(&later, got)
			}
			if i == 0 {
				b.Logf("cutover %s → %s: %d requests (%d reads, %d writes, %d watches; journal %d, lock %d), %v in all, %v beyond readiness, in order:\n%s",
					v.blue, v.green, got.Total(), got.Reads, got.Writes, got.Watches, got.Journal, got.Lock,
					r.end.Sub(r.start).Round(time.Millisecond), cutBeyond[len(cutBeyond)-1].Round(time.Millisecond),
					strings.Join(got.Seq, "\n"))
			}
		}

		got, beyond, rd := x.bareKubectl(proxy, self, false)
		add(&kub, got)
		kubBeyond = append(kubBeyond, beyond)
		readiness = append(readiness, rd)
		if i == 0 {
			b.Logf("kubectl v1 → v2: %d requests (%d reads, %d writes, %d watches), %v beyond readiness, in order:\n%s",
				got.Total(), got.Reads, got.Writes, got.Watches, beyond.Round(time.Millisecond), strings.Join(got.Seq, "\n"))
			cold, _, _ := x.bareKubectl(proxy, self, true)
			b.Logf("kubectl v1 → v2, a cold cache for each command: %d requests (%d reads, %d writes, %d watches):\n%s",
				cold.Total(), cold.Reads, cold.Writes, cold.Watches, cold.Routes())
			b.ReportMetric(float64(cold.Total()), "kubectl-cold-each-req/release")
		}
	}
	b.StopTimer()
	b.ReportMetric(perRelease(first.Total(), b.N), "cutover-req/release")
	b.ReportMetric(perRelease(first.Reads, b.N), "cutover-reads/release")
	b.ReportMetric(perRelease(first.Writes, b.N), "cutover-writes/release")
	b.ReportMetric(perRelease(first.Watches, b.N), "cutover-watches/release")
	b.ReportMetric(perRelease(first.Journal, b.N), "cutover-journal-req/release")
	b.ReportMetric(perRelease(first.Lock, b.N), "cutover-lock-req/release")
	b.ReportMetric(perRelease(later.Total(), b.N), "cutover-later-req/release")
	b.ReportMetric(perRelease(later.Journal, b.N), "cutover-later-journal-req/release")
	b.ReportMetric(perRelease(later.Lock, b.N), "cutover-later-lock-req/release")
	b.ReportMetric(perRelease(kub.Total(), b.N), "kubectl-req/release")
	b.ReportMetric(perRelease(kub.Reads, b.N), "kubectl-reads/release")
	b.ReportMetric(perRelease(kub.Writes, b.N), "kubectl-writes/release")
	b.ReportMetric(perRelease(kub.Watches, b.N), "kubectl-watches/release")
	for _, s := range [][]time.Duration{cutBeyond, kubBeyond, readiness} {
		slices.Sort(s)
	}
	b.ReportMetric(ms(percentile(cutBeyond, 50)), "cutover-beyond-ready-p50-ms")
	b.ReportMetric(ms(percentile(cutBeyond, 99)), "cutover-beyond-ready-p99-ms")
	b.ReportMetric(ms(percentile(kubBeyond, 50)), "kubectl-beyond-ready-p50-ms")
	b.ReportMetric(ms(percentile(kubBeyond, 99)), "kubectl-beyond-ready-p99-ms")
	b.ReportMetric(ms(percentile(readiness, 50)), "readiness-p50-ms")
	b.Logf("cutover's time beyond readiness, medians of %d runs:\n%s", len(cutBeyond), parts.String())
}

// bareBlue makes the state every bare release starts from, the seed's
// "before": Deployment demo-v1 with its pods Ready and Service demo
// selecting version v1. Made with the admin client, around the proxy, and
// without cutover: no run state exists in the namespace yet.
func (x *bench) bareBlue(ns string) {
	b := x.b
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := x.client.AppsV1().Deployments(ns).Create(ctx, bareDeployment(b, "v1"), metav1.CreateOptions{})
	must(b, err, "create Deployment %s/demo-v1", ns)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Labels: map[string]string{"app": "demo"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "demo", "version": "v1"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	_, err = x.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	must(b, err, "create Service %s/demo", ns)
	for {
		d, err := x.client.AppsV1().Deployments(ns).Get(ctx, "demo-v1", metav1.GetOptions{})
		must(b, err, "get Deployment %s/demo-v1", ns)
		if d.Status.ReadyReplicas == bareReplicas && d.Status.UpdatedReplicas == bareReplicas {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatalf("Deployment %s/demo-v1 never had %d ready replicas: %+v", ns, bareReplicas, d.Status)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// bareYAML is testdata/bare-blue-green's Deployment for version, rendered
// as its templatefile call does.
func bareYAML(b *testing.B, version string) string {
	b.Helper()
	tpl, err := os.ReadFile(filepath.Join("testdata", "bare-blue-green", "deployment.yaml.tpl"))
	must(b, err, "read the Deployment template")
	return strings.ReplaceAll(string(tpl), "${version}", version)
}

func bareDeployment(b *testing.B, version string) *appsv1.Deployment {
	b.Helper()
	var d appsv1.Deployment
	must(b, yaml.UnmarshalStrict([]byte(bareYAML(b, version)), &d), "decode the Deployment template")
	return &d
}

// bareResult is one `cutover run -o json` of the bare pipeline.
type bareResult struct {
	start, end time.Time // process start and exit, by the benchmark's clock
	events     []events.Event
}

// bareRun runs the bare pipeline for version green and fails the benchmark
// unless the run succeeds with its three stages.
func (x *bench) bareRun(kubeconfig, dir, green string) bareResult {
	b := x.b
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := x.cutoverCmd(ctx, kubeconfig, "run", dir, "-var", "version="+green, "-o", "json")
	stdout, err := cmd.StdoutPipe()
	must(b, err, "stdout pipe")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	var r bareResult
	r.start = time.Now()
	must(b, cmd.Start(), "start cutover")
	var log strings.Builder
	var result events.Result
	succeeded := 0
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		var ev events.Event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		r.events = append(r.events, ev)
		switch ev.Type {
		case events.StageSucceeded:
			succeeded++
		case events.RunFinished:
			result = ev.Result
		}
	}
	_ = cmd.Wait()
	r.end = time.Now()
	if code := cmd.ProcessState.ExitCode(); code != 0 || result != events.Succeeded || succeeded != 3 {
		b.Fatalf("cutover run bare-blue-green %s: exit %d, result %q, %d stages succeeded; want 0, %q, 3\n%s%s",
			green, code, result, succeeded, events.Succeeded, log.String(), stderr.String())
	}
	return r
}

// bareKubectl releases v2 next to v1 in a namespace of its own by the
// seed's five kubectl commands, each a process of its own (this test
// binary as kubectl), through the proxy, checks the outcome, and returns
// the requests, the time beyond readiness and the readiness itself.
// coldEach gives each command a cold discovery cache of its own instead of
// one for the five.
func (x *bench) bareKubectl(proxy *countingProxy, self string, coldEach bool) (counts, time.Duration, time.Duration) {
	b := x.b
	b.Helper()
	ns, _ := x.namespace("bench-bare-kubectl")
	x.bareBlue(ns)
	counted := writeFile(b, "kubectl.kubeconfig", "")
	must(b, proxy.writeKubeconfig(counted, ns), "kubeconfig")
	green := writeFile(b, "green.yaml", bareYAML(b, "v2"))
	cache := b.TempDir()
	ready := x.watchGreen(ns, "v2")
	proxy.reset()
	start := time.Now()
	for _, args := range [][]string{
		{"apply", "-f", green},
		{"rollout", "status", "deploy/demo-v2", "--timeout=5m"},
		{"patch", "service", "demo", "-p", `{"spec":{"selector":{"version":"v2"}}}`},
		{"get", "endpoints", "demo"},
		{"scale", "deploy/demo-v1", "--replicas=0"},
	} {
		if coldEach {
			cache = b.TempDir()
		}
		kubectlProcess(b, self, counted, cache, args...)
	}
	end := time.Now()
	got := proxy.take()
	x.checkReleased(ns, "v2", "v1", 0)
	rd := x.readyWindow(ready, "v2")
	took := rd.ready.Sub(rd.created)
	return got, end.Sub(start) - took, took
}

// kubectlProcess runs `kubectl ARGS` as a process: this test binary, which
// TestMain turns into kubectl when kubectlEnv is set.
func kubectlProcess(b *testing.B, self, kubeconfig, cache string, args ...string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, append([]string{"--kubeconfig", kubeconfig, "--cache-dir", cache}, args...)...)
	cmd.Env = []string{kubectlEnv + "=1", "HOME=" + b.TempDir(), "PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// greenReady is when this benchmark's watches saw the green Deployment
// created and its last pod Ready.
type greenReady struct {
	created, ready time.Time
	err            error
}

// watchGreen starts watching for Deployment demo-VERSION (which must not
// exist yet) and its pods, and sends when it was created and when
// bareReplicas of its pods were Ready.
func (x *bench) watchGreen(ns, version string) <-chan greenReady {
	b := x.b
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	name := "demo-" + version
	deps, pods := x.client.AppsV1().Deployments(ns), x.client.CoreV1().Pods(ns)
	byName := fields.OneTermEqualSelector("metadata.name", name).String()
	byLabel := "app=demo,version=" + version
	dl, err := deps.List(ctx, metav1.ListOptions{FieldSelector: byName})
	must(b, err, "list Deployment %s/%s", ns, name)
	if len(dl.Items) != 0 {
		b.Fatalf("Deployment %s/%s exists before the release", ns, name)
	}
	pl, err := pods.List(ctx, metav1.ListOptions{LabelSelector: byLabel})
	must(b, err, "list pods %s", byLabel)
	dw, err := deps.Watch(ctx, metav1.ListOptions{FieldSelector: byName, ResourceVersion: dl.ResourceVersion})
	must(b, err, "watch Deployment %s/%s", ns, name)
	pw, err := pods.Watch(ctx, metav1.ListOptions{LabelSelector: byLabel, ResourceVersion: pl.ResourceVersion})
	must(b, err, "watch pods %s", byLabel)
	out := make(chan greenReady, 1)
	go func() {
		defer cancel()
		defer dw.Stop()
		defer pw.Stop()
		var r greenReady
		ready := map[string]bool{}
		dch, pch := dw.ResultChan(), pw.ResultChan()
		for {
			select {
			case ev, ok := <-dch:
				if !ok {
					dch = nil
					continue
				}
				if ev.Type == watch.Added && r.created.IsZero() {
					r.created = time.Now()
				}
			case ev, ok := <-pch:
				if !ok {
					r.err = fmt.Errorf("pod watch ended before %d pods of %s were Ready", bareReplicas, name)
					out <- r
					return
				}
				now := time.Now()
				pod, isPod := ev.Object.(*corev1.Pod)
				if !isPod {
					continue
				}
				ready[pod.Name] = ev.Type != watch.Deleted && pod.DeletionTimestamp == nil && podReady(pod)
				n := 0
				for _, ok := range ready {
					if ok {
						n++
					}
				}
				if n >= bareReplicas {
					r.ready = now
					if r.created.IsZero() {
						r.err = fmt.Errorf("pods of %s Ready before the Deployment was seen created", name)
					}
					out <- r
					return
				}
			}
		}
	}()
	return out
}

// readyWindow waits for watchGreen's answer; the release has finished by
// then, so it is there or the watch failed.
func (x *bench) readyWindow(ch <-chan greenReady, version string) greenReady {
	x.b.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			x.b.Fatal(r.err)
		}
		return r
	case <-time.After(30 * time.Second):
		x.b.Fatalf("demo-%s: the release ended but the benchmark's watch never saw its pods Ready", version)
	}
	return greenReady{}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// breakdown collects where a cutover release spends its time beyond
// readiness, from its events (the process's clock, the same machine's).
type breakdown struct {
	process  []time.Duration // process start → its first API request
	startup  []time.Duration // process start → first stage_started
	deploy   []time.Duration // deploy_green: its time minus the pods' readiness
	noticed  []time.Duration // last green pod Ready (benchmark's watch) → deploy_green succeeded
	switchS  []time.Duration // the switch stage
	scale    []time.Duration // the retire_blue stage
	gaps     []time.Duration // between stages
	finish   []time.Duration // last stage_succeeded → process exit
	readyWin []time.Duration
}

func (p *breakdown) add(r bareResult, rd greenReady, firstRequest time.Time) {
	started, done := map[string]time.Time{}, map[string]time.Time{}
	var first, last time.Time
	for _, ev := range r.events {
		switch ev.Type {
		case events.StageStarted:
			if _, ok := started[ev.Stage]; !ok {
				started[ev.Stage] = ev.Time
			}
			if first.IsZero() {
				first = ev.Time
			}
		case events.StageSucceeded:
			done[ev.Stage] = ev.Time
			last = ev.Time
		}
	}
	span := func(s string) time.Duration { return done[s].Sub(started[s]) }
	win := rd.ready.Sub(rd.created)
	p.process = append(p.process, firstRequest.Sub(r.start))
	p.startup = append(p.startup, first.Sub(r.start))
	p.deploy = append(p.deploy, span("deploy_green")-win)
	p.noticed = append(p.noticed, done["deploy_green"].Sub(rd.ready))
	p.switchS = append(p.switchS, span("switch"))
	p.scale = append(p.scale, span("retire_blue"))
	p.gaps = append(p.gaps, started["switch"].Sub(done["deploy_green"])+started["retire_blue"].Sub(done["switch"]))
	p.finish = append(p.finish, r.end.Sub(last))
	p.readyWin = append(p.readyWin, win)
}

func (p *breakdown) String() string {
	med := func(s []time.Duration) string {
		s = slices.Clone(s)
		slices.Sort(s)
		return fmt.Sprintf("%6.1f ms", ms(percentile(s, 50)))
	}
	return strings.Join([]string{
		"  " + med(p.startup) + "  process start → first stage started (start-up, config, cluster connection, run state, lock)",
		"  " + med(p.process) + "    of which: process start → its first API request (start-up, config, client)",
		"  " + med(p.deploy) + "  deploy_green minus the pods' readiness",
		"  " + med(p.noticed) + "    of which: last green pod Ready → deploy_green succeeded",
		"  " + med(p.switchS) + "  switch",
		"  " + med(p.scale) + "  retire_blue (the scale and its wait)",
		"  " + med(p.gaps) + "  between stages",
		"  " + med(p.finish) + "  last stage succeeded → process exit (final status, lock release)",
		"  (" + med(p.readyWin) + "  the pods' own readiness: Deployment created → last pod Ready)",
	}, "\n")
}
