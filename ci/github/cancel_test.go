package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/kube"
)

// The runner's schedule on a cancelled step (actions/runner,
// src/Runner.Sdk/ProcessInvoker.cs): SIGINT to the step's process, SIGTERM
// if it has not exited 7.5s later, then a kill 2.5s after that.
const (
	runnerSigintWait  = 7500 * time.Millisecond
	runnerSigtermWait = 2500 * time.Millisecond
)

// lockedBuffer is an io.Writer read while the step runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runDuring runs a step's command in a process group of its own with during
// beside it (see actionOpts).
func runDuring(t *testing.T, cmd *exec.Cmd, during func(p *os.Process, exited <-chan struct{})) ([]byte, error) {
	t.Helper()
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Whatever survives a kill of the group (nothing should) must not hold
	// the output pipe, and so the test, for long.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		during(cmd.Process, exited)
	}()
	err := cmd.Wait()
	close(exited)
	<-done
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	return []byte(out.String()), err
}

// runnerCancel cancels a step like the GitHub runner: SIGINT to the step's
// top process only, SIGTERM to it 7.5s later if it still runs, and 2.5s
// after that SIGKILL. The runner's own kill reaches only the top process (its
// orphans are ended when the job is cleaned up); this one kills the whole
// process group, the worst case: nothing runs past 10s.
type runnerCancel struct {
	sigint time.Time
	sent   []string      // signals in the order sent
	exit   time.Duration // from SIGINT to the step's exit
}

func (c *runnerCancel) cancel(p *os.Process, exited <-chan struct{}) {
	c.sigint = time.Now()
	c.sent = append(c.sent, "SIGINT")
	_ = p.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(runnerSigintWait):
		c.sent = append(c.sent, "SIGTERM")
		_ = p.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(runnerSigtermWait):
			c.sent = append(c.sent, "SIGKILL to the group")
			_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	c.exit = time.Since(c.sigint)
}

// waitFile waits until path exists, the step exits (false) or ctx ends.
func waitFile(ctx context.Context, path string, exited <-chan struct{}) bool {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		select {
		case <-tick.C:
		case <-exited:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// TestActionCancelReachesCutover: the runner's SIGINT goes to the step's
// shell; cutover must get it, undo, and the step must still write its
// outputs and exit with cutover's code. No cluster: the pipeline's stages
// are local commands (the kubeconfig file's removal after a cancel is
// checked by TestActionCancelRestoresSelector, which has a cluster).
func TestActionCancelReachesCutover(t *testing.T) {
	dir := writePipeline(t, `
pipeline "cancel" {}
variable "tmp" { type = string }
stage "done" {
  exec { command = ["true"] }
  undo {
    exec { command = ["sh", "-c", "echo undid done >> \"$0/undo.log\"", var.tmp] }
  }
}
stage "long" {
  depends_on = [stage.done]
  exec { command = ["sh", "-c", "touch \"$0/started\"; exec sleep 60", var.tmp] }
}
`)
	bin := cutoverOnPath(t) // before the clock starts: it may build
	tmp := filepath.Join(dir, "runner-temp")
	var c runnerCancel
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := runActionOpts(t, map[string]string{
		"pipeline": "deploy",
		"vars":     "tmp=" + tmp,
		"args":     "--no-journal",
	}, dir, actionOpts{bin: bin, during: func(p *os.Process, exited <-chan struct{}) {
		if !waitFile(ctx, filepath.Join(tmp, "started"), exited) {
			return
		}
		c.cancel(p, exited)
	}})
	t.Logf("signals %v; SIGINT to exit %v", c.sent, c.exit.Round(time.Millisecond))
	if c.sigint.IsZero() {
		t.Fatalf("the long stage never started:\n%s", r.log)
	}
	if r.code != 130 {
		t.Errorf("exit %d, want cutover's 130 (interrupted by SIGINT)\n%s", r.code, r.log)
	}
	if len(c.sent) != 1 {
		t.Errorf("the runner had to escalate (%v): SIGINT did not end the step", c.sent)
	}
	if b, _ := os.ReadFile(filepath.Join(tmp, "undo.log")); !strings.Contains(string(b), "undid done") {
		t.Errorf("the completed stage was not undone (undo.log %q)\n%s", b, r.log)
	}
	if r.outputs["result"] != "interrupted" || r.outputs["run-id"] == "" {
		t.Errorf("outputs result=%q run-id=%q, want interrupted and an id\n%s", r.outputs["result"], r.outputs["run-id"], r.log)
	}
	if !strings.Contains(r.log, "SIGINT received, passing it on to cutover") {
		t.Errorf("run.sh did not say it passed the signal on:\n%s", r.log)
	}
}

// TestActionCancelSecondSignalNotPassed: the runner's SIGTERM that follows
// its SIGINT must not cut the undo short (run.sh does not pass it on;
// cutover in CI would only note it). The undo here outlasts the moment the
// SIGTERM is sent (right after the undo starts, instead of 7.5s after the
// SIGINT).
func TestActionCancelSecondSignalNotPassed(t *testing.T) {
	dir := writePipeline(t, `
pipeline "cancel" {}
variable "tmp" { type = string }
stage "done" {
  exec { command = ["true"] }
  undo {
    exec { command = ["sh", "-c", "touch \"$0/undoing\"; sleep 2; echo undid done >> \"$0/undo.log\"", var.tmp] }
  }
}
stage "long" {
  depends_on = [stage.done]
  exec { command = ["sh", "-c", "touch \"$0/started\"; exec sleep 60", var.tmp] }
}
`)
	bin := cutoverOnPath(t)
	tmp := filepath.Join(dir, "runner-temp")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var sentTerm bool
	r := runActionOpts(t, map[string]string{
		"pipeline": "deploy",
		"vars":     "tmp=" + tmp,
		"args":     "--no-journal",
	}, dir, actionOpts{bin: bin, during: func(p *os.Process, exited <-chan struct{}) {
		if !waitFile(ctx, filepath.Join(tmp, "started"), exited) {
			return
		}
		_ = p.Signal(syscall.SIGINT)
		// The undo starts within the runner's window, or never.
		window, stop := context.WithTimeout(ctx, runnerSigintWait+runnerSigtermWait)
		defer stop()
		if !waitFile(window, filepath.Join(tmp, "undoing"), exited) {
			_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
			<-exited
			return
		}
		_ = p.Signal(syscall.SIGTERM)
		sentTerm = true
		<-exited
	}})
	if !sentTerm {
		t.Fatalf("the undo never started:\n%s", r.log)
	}
	if r.code != 130 {
		t.Errorf("exit %d, want 130: cutover stopped for the SIGINT only\n%s", r.code, r.log)
	}
	if b, _ := os.ReadFile(filepath.Join(tmp, "undo.log")); !strings.Contains(string(b), "undid done") {
		t.Errorf("the undo was cut short by the second signal (undo.log %q)\n%s", b, r.log)
	}
	if !strings.Contains(r.log, "SIGTERM received, not passed on") {
		t.Errorf("run.sh did not report the second signal:\n%s", r.log)
	}
	if r.outputs["result"] != "interrupted" {
		t.Errorf("result=%q, want interrupted\n%s", r.outputs["result"], r.log)
	}
}

const greenDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-v2
  labels: {app: demo, version: v2}
spec:
  replicas: 2
  selector:
    matchLabels: {app: demo, version: v2}
  template:
    metadata:
      labels: {app: demo, version: v2}
    spec:
      containers:
        - name: demo
          image: registry.example/demo:v2
          ports: [{containerPort: 8080}]
`

// TestActionCancelRestoresSelector is the cancelled release end to end: the
// action runs a blue/green release on the local control plane; green is
// deployed and the Service's selector switched to it; the run then waits in
// a long stage when the job is cancelled. The runner's SIGINT goes to the
// step's shell only; the Service must select blue again before the runner's
// kill, 10s after the SIGINT.
func TestActionCancelRestoresSelector(t *testing.T) {
	bin := cutoverOnPath(t)
	ctx, ns, kubeconfig := testcluster.Namespace(t, "action-cancel", 3*time.Minute)
	cl, err := kube.New(kube.Options{Kubeconfig: kubeconfig}).Clients()
	if err != nil {
		t.Fatal(err)
	}
	services := cl.Typed.CoreV1().Services(ns)

	// Blue is live: demo-v1 and the Service selecting it.
	blue := map[string]string{"app": "demo", "version": "v1"}
	replicas := int32(2)
	_, err = cl.Typed.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-v1", Labels: blue},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: blue},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: blue},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "demo", Image: "registry.example/demo:v1",
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = services.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "demo"},
		Spec: corev1.ServiceSpec{Selector: blue, Ports: []corev1.ServicePort{{
			Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP,
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	dir := writePipeline(t, `
pipeline "release" {
  lock = "demo-release"
}
variable "tmp" { type = string }

stage "deploy_green" {
  deploy { manifests = [file("green.yaml")] }
}

stage "switch" {
  depends_on = [stage.deploy_green]
  switch_selector {
    service  = "demo"
    selector = { version = "v2" }
  }
}

# The long stage the cancel arrives in: a soak, an approval, a slow check.
stage "soak" {
  depends_on = [stage.switch]
  exec { command = ["sh", "-c", "touch \"$0/soaking\"; exec sleep 120", var.tmp] }
}
`)
	if err := os.WriteFile(filepath.Join(dir, "ws", "deploy", "green.yaml"), []byte(greenDeployment), 0o644); err != nil {
		t.Fatal(err)
	}
	kc, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "runner-temp")

	var (
		c          runnerCancel
		switched   bool
		restored   = make(chan time.Time, 1)
		watchErr   = make(chan error, 1)
		watchCtx   context.Context
		stopWatch  context.CancelFunc
		selectorAt string
	)
	watchCtx, stopWatch = context.WithCancel(ctx)
	defer stopWatch()
	r := runActionOpts(t, map[string]string{
		"pipeline":   "deploy",
		"vars":       "tmp=" + tmp,
		"kubeconfig": string(kc),
		"namespace":  ns,
		// Below the runner's 10s, with room for the outputs.
		"args": "--grace\n8s",
	}, dir, actionOpts{bin: bin, during: func(p *os.Process, exited <-chan struct{}) {
		if !waitFile(ctx, filepath.Join(tmp, "soaking"), exited) {
			return
		}
		svc, err := services.Get(ctx, "demo", metav1.GetOptions{})
		if err != nil {
			watchErr <- err
			return
		}
		selectorAt = fmt.Sprint(svc.Spec.Selector)
		switched = svc.Spec.Selector["version"] == "v2"
		// Watch from the version read: no change after it is missed.
		w, err := services.Watch(watchCtx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", "demo").String(),
			ResourceVersion: svc.ResourceVersion,
		})
		if err != nil {
			watchErr <- err
			return
		}
		go func() {
			defer w.Stop()
			for ev := range w.ResultChan() {
				if s, ok := ev.Object.(*corev1.Service); ok && ev.Type == watch.Modified && s.Spec.Selector["version"] == "v1" {
					restored <- time.Now()
					return
				}
			}
			watchErr <- errors.New("the watch on the Service ended before the selector was restored")
		}()
		c.cancel(p, exited)
	}})
	t.Logf("signals sent: %v; SIGINT to step exit: %v", c.sent, c.exit.Round(time.Millisecond))
	if c.sigint.IsZero() {
		t.Fatalf("the soak stage never started (exit %d):\n%s", r.code, r.log)
	}
	if !switched {
		t.Fatalf("the soak stage started with the selector at %s, want version v2:\n%s", selectorAt, r.log)
	}

	// The selector is back on blue, read from the cluster, and when.
	select {
	case at := <-restored:
		d := at.Sub(c.sigint)
		t.Logf("SIGINT to selector restored: %v", d.Round(time.Millisecond))
		if d >= runnerSigintWait+runnerSigtermWait {
			t.Errorf("selector restored %v after SIGINT: after the runner's kill", d)
		}
	case err := <-watchErr:
		t.Fatalf("%v\n%s", err, r.log)
	case <-time.After(5 * time.Second):
		// The step has exited; a restore that came would have been seen.
		t.Fatalf("the Service's selector was not restored after the cancel\n%s", r.log)
	}
	svc, err := services.Get(ctx, "demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Selector["version"] != "v1" || svc.Spec.Selector["app"] != "demo" {
		t.Errorf("selector %v, want app=demo version=v1", svc.Spec.Selector)
	}

	// The shell outlived cutover: the step ended on its own, with cutover's
	// code, its outputs and without the kubeconfig file.
	if len(c.sent) != 1 {
		t.Errorf("the runner had to escalate (%v): the undo did not end within its window\n%s", c.sent, r.log)
	}
	if r.code != 130 {
		t.Errorf("exit %d, want 130\n%s", r.code, r.log)
	}
	if r.outputs["result"] != "interrupted" || r.outputs["run-id"] == "" {
		t.Errorf("outputs result=%q run-id=%q, want interrupted and an id\n%s", r.outputs["result"], r.outputs["run-id"], r.log)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "kubeconfig.*")); len(left) > 0 {
		t.Errorf("kubeconfig left behind: %v", left)
	}
	// Green, deployed by this run, is removed too (after the selector).
	d, err := cl.Typed.AppsV1().Deployments(ns).Get(ctx, "demo-v2", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		t.Fatal(err)
	case d.DeletionTimestamp == nil:
		t.Errorf("demo-v2, deployed by the cancelled run, is still there\n%s", r.log)
	}
}
