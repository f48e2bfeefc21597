package testcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cutoverhq/cutover/internal/demoapp"
	"github.com/cutoverhq/cutover/internal/testcluster/podnet"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// containerRunner runs one container of a pod as a demo server process and
// restarts it per the pod's restartPolicy. Its fields are guarded by the
// pod runner's mutex.
type containerRunner struct {
	pr    *podRunner
	spec  *corev1.Container
	first bool

	restarts  int32
	pid       int
	running   bool
	startedAt time.Time
	ready     bool
	started   bool   // the startup probe passed (or there is none)
	waiting   string // reason while not running
	lastTerm  *corev1.ContainerStateTerminated
	done      bool // will not run again
}

// process is one run of the container.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	term corev1.ContainerStateTerminated // once done
}

// restartBackoff is the wait before the n-th restart (n ≥ 1): none for the
// first, then 1s doubling to 10s; the kubelet's starts at 10s and caps at
// 5m, too slow for tests.
func restartBackoff(n int32) time.Duration {
	if n <= 1 {
		return 0
	}
	return min(time.Second<<min(n-2, 4), 10*time.Second)
}

func (cr *containerRunner) set(f func()) {
	cr.pr.mu.Lock()
	f()
	cr.pr.mu.Unlock()
	cr.pr.changed()
}

func (cr *containerRunner) loop() {
	pr := cr.pr
	defer cr.set(func() { cr.done, cr.ready, cr.running = true, false, false })
	for {
		if n := cr.restarts; n > 0 {
			if d := restartBackoff(n); d > 0 {
				cr.set(func() { cr.waiting = "CrashLoopBackOff" })
				pr.event(corev1.EventTypeWarning, "BackOff", fmt.Sprintf("Back-off %s restarting failed container %s", d, cr.spec.Name))
				select {
				case <-time.After(d):
				case <-pr.terminating:
					return
				case <-pr.ctx.Done():
					return
				}
			}
		}
		p, err := cr.start()
		if err != nil {
			pr.event(corev1.EventTypeWarning, "Failed", fmt.Sprintf("Error: container %s: %v", cr.spec.Name, err))
			p = &process{done: make(chan struct{}), term: corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", Message: err.Error()}}
			close(p.done)
		}
		runCtx, stopProbes := context.WithCancel(pr.ctx)
		unhealthy := make(chan error, 1)
		if err == nil {
			cr.probe(runCtx, unhealthy)
		}
		select {
		case <-p.done:
		case err := <-unhealthy:
			pr.event(corev1.EventTypeNormal, "Killing", fmt.Sprintf("Container %s failed liveness probe, will be restarted: %v", cr.spec.Name, err))
			cr.stop(p, time.Now().Add(cr.livenessGrace()))
		case <-pr.terminating:
			stopProbes()
			pr.event(corev1.EventTypeNormal, "Killing", "Stopping container "+cr.spec.Name)
			cr.stop(p, pr.deadline)
			cr.exited(p, false)
			return
		case <-pr.ctx.Done():
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
			stopProbes()
			return
		}
		stopProbes()
		again := restartPolicyAllows(pr.currentPod().Spec.RestartPolicy, p.term.ExitCode)
		cr.exited(p, again)
		if !again {
			return
		}
	}
}

func restartPolicyAllows(policy corev1.RestartPolicy, exitCode int32) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// exited records the end of a run (again: the container restarts).
func (cr *containerRunner) exited(p *process, again bool) {
	cr.pr.event(corev1.EventTypeNormal, "Exited", fmt.Sprintf("Container %s (pid %d) exited with code %d", cr.spec.Name, cr.pid, p.term.ExitCode))
	cr.set(func() {
		term := p.term
		cr.lastTerm, cr.running, cr.ready, cr.started = &term, false, false, false
		if again {
			cr.restarts++
		}
	})
}

func (cr *containerRunner) livenessGrace() time.Duration {
	if lp := cr.spec.LivenessProbe; lp != nil && lp.TerminationGracePeriodSeconds != nil {
		return time.Duration(*lp.TerminationGracePeriodSeconds) * time.Second
	}
	if g := cr.pr.currentPod().Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return 30 * time.Second
}

// minGraceAfterHook is what the kubelet leaves for SIGTERM when the preStop
// hook used up the grace period.
const minGraceAfterHook = 2 * time.Second

// stop stops a run as the kubelet does: the preStop hook (bounded by the
// deadline), SIGTERM, and SIGKILL if the process has not exited by the
// deadline.
func (cr *containerRunner) stop(p *process, deadline time.Time) {
	pr := cr.pr
	hookRan := false
	if h := cr.spec.Lifecycle; h != nil && h.PreStop != nil {
		hookRan = true
		ctx, cancel := context.WithDeadline(pr.ctx, deadline)
		begin := time.Now()
		err := hookHandler(h.PreStop).run(ctx, pr.ip, cr.spec)
		cancel()
		took := time.Since(begin).Round(time.Millisecond)
		if err != nil {
			pr.event(corev1.EventTypeWarning, "FailedPreStopHook", fmt.Sprintf("PreStopHook of container %s failed after %s: %v", cr.spec.Name, took, err))
		} else {
			pr.event(corev1.EventTypeNormal, "PreStopHook", fmt.Sprintf("PreStopHook of container %s completed in %s", cr.spec.Name, took))
		}
	}
	grace := time.Until(deadline)
	if hookRan && grace < minGraceAfterHook {
		grace = minGraceAfterHook
	}
	grace = max(grace, 0)
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	pr.event(corev1.EventTypeNormal, "SIGTERM", fmt.Sprintf("SIGTERM sent to container %s (pid %d); SIGKILL in %s", cr.spec.Name, pid, grace.Round(time.Millisecond)))
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	case <-pr.ctx.Done():
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	pr.event(corev1.EventTypeWarning, "SIGKILL", fmt.Sprintf("Container %s (pid %d) still running %s after SIGTERM: SIGKILL", cr.spec.Name, pid, grace.Round(time.Millisecond)))
	<-p.done
}

// probe starts the container's probes for one run: startup first, then
// readiness and liveness. Readiness flips the container's ready flag; a
// failed liveness or startup probe is sent on unhealthy.
func (cr *containerRunner) probe(ctx context.Context, unhealthy chan<- error) {
	pr, c := cr.pr, cr.spec
	ip := pr.ip
	fail := func(kind string) func(bool, error) {
		return func(ok bool, err error) {
			if ok {
				return
			}
			pr.event(corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %v", kind, err))
			select {
			case unhealthy <- err:
			default:
			}
		}
	}
	rest := func() {
		cr.set(func() {
			cr.started = true
			if c.ReadinessProbe == nil {
				cr.ready = true
			}
		})
		if c.ReadinessProbe != nil {
			go prober{"Readiness", c.ReadinessProbe}.run(ctx, ip, c, func(ok bool, err error) {
				if !ok {
					pr.event(corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("Readiness probe failed: %v", err))
				}
				cr.set(func() { cr.ready = ok })
			})
		}
		if c.LivenessProbe != nil {
			go prober{"Liveness", c.LivenessProbe}.run(ctx, ip, c, fail("Liveness"))
		}
	}
	if c.StartupProbe == nil {
		rest()
		return
	}
	sctx, stopStartup := context.WithCancel(ctx)
	go prober{"Startup", c.StartupProbe}.run(sctx, ip, c, func(ok bool, err error) {
		stopStartup()
		if ok {
			rest()
			return
		}
		fail("Startup")(false, err)
	})
}

// start starts a run of the container: the demo server with the pod's
// environment, bound to the pod IP, its output appended to the pod log.
func (cr *containerRunner) start() (*process, error) {
	pr := cr.pr
	bin, err := pr.a.demoApp(pr.ctx)
	if err != nil {
		return nil, err
	}
	pod := pr.currentPod()
	logPath := filepath.Join(pr.a.cfg.Dir, "pods", pod.Namespace+"_"+pod.Name+"_"+cr.spec.Name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(bin)
	cmd.Dir = filepath.Dir(logPath)
	cmd.Env = containerEnv(pod, cr.spec, pr.ip, pr.a.cfg.Registry, cr.first)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr(false)
	if err := startOnLockedThread(cmd); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		p.term = terminatedState(cmd.ProcessState)
		close(p.done)
	}()
	cr.set(func() {
		cr.pid, cr.running, cr.startedAt, cr.waiting = cmd.Process.Pid, true, time.Now(), ""
	})
	pr.event(corev1.EventTypeNormal, "Started", fmt.Sprintf("Started container %s (pid %d) on %s", cr.spec.Name, cmd.Process.Pid, pr.ip))
	return p, nil
}

func terminatedState(ps *os.ProcessState) corev1.ContainerStateTerminated {
	t := corev1.ContainerStateTerminated{FinishedAt: metav1.Now(), Reason: "Completed"}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.ExitCode, t.Signal = 128+int32(ws.Signal()), int32(ws.Signal())
	} else {
		t.ExitCode = int32(ps.ExitCode())
	}
	if t.ExitCode != 0 {
		t.Reason = "Error"
	}
	return t
}

// statusLocked is the container's status (the pod runner's mutex held).
func (cr *containerRunner) statusLocked() corev1.ContainerStatus {
	cs := corev1.ContainerStatus{
		Name: cr.spec.Name, Image: cr.spec.Image, ImageID: "process://demoapp", RestartCount: cr.restarts,
		Ready: cr.ready && cr.running, Started: ptr.To(cr.running && cr.started), LastTerminationState: corev1.ContainerState{Terminated: cr.lastTerm},
	}
	if cr.pid != 0 {
		cs.ContainerID = "process://" + strconv.Itoa(cr.pid)
	}
	switch {
	case cr.running:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(cr.startedAt)}
	case cr.done && cr.lastTerm != nil:
		t := *cr.lastTerm
		t.StartedAt, t.ContainerID = metav1.NewTime(cr.startedAt), cs.ContainerID
		cs.State.Terminated, cs.LastTerminationState = &t, corev1.ContainerState{}
	default:
		reason := cr.waiting
		if reason == "" {
			reason = "ContainerCreating"
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason}
	}
	return cs
}

// containerPorts are the TCP ports the container's process binds; the
// first container listens on 8080 when it declares none (a pod's app
// listens whether or not its ports are written down), the others on none.
func containerPorts(c *corev1.Container, first bool) []int {
	var ports []int
	for _, p := range c.Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			ports = append(ports, int(p.ContainerPort))
		}
	}
	if len(ports) == 0 && first {
		ports = []int{8080}
	}
	sort.Ints(ports)
	return ports
}

// containerEnv is the demo server's environment: the container's env (plain
// values and the pod fields of the downward API; references to ConfigMaps
// and Secrets are left out), then what the agent decides: the pod IP to
// bind, the ports, the image (whose tag is the version unless VERSION is
// set), the pod's identity and the registry of its namespace.
func containerEnv(pod *corev1.Pod, c *corev1.Container, ip, registryAddr string, first bool) []string {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			set(e.Name, e.Value)
		case e.ValueFrom.FieldRef != nil:
			if v, ok := podField(pod, ip, e.ValueFrom.FieldRef.FieldPath); ok {
				set(e.Name, v)
			}
		}
	}
	var ports []string
	for _, p := range containerPorts(c, first) {
		ports = append(ports, strconv.Itoa(p))
	}
	if len(ports) == 0 {
		ports = []string{"0"}
	}
	set(demoapp.EnvHost, ip)
	set(demoapp.EnvPorts, strings.Join(ports, ","))
	set(demoapp.EnvImage, c.Image)
	set(demoapp.EnvPod, pod.Name)
	set("POD_NAMESPACE", pod.Namespace)
	if _, ok := vars[demoapp.EnvApp]; !ok {
		set(demoapp.EnvApp, appName(pod))
	}
	if _, ok := vars[demoapp.EnvRegistry]; !ok && registryAddr != "" {
		set(demoapp.EnvRegistry, "http://"+registryAddr+"/"+pod.Namespace)
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}
	return env
}

func podField(pod *corev1.Pod, ip, path string) (string, bool) {
	switch path {
	case "metadata.name":
		return pod.Name, true
	case "metadata.namespace":
		return pod.Namespace, true
	case "metadata.uid":
		return string(pod.UID), true
	case "spec.nodeName":
		return pod.Spec.NodeName, true
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, true
	case "status.podIP", "status.podIPs":
		return podnet.PodIP(ip), true
	case "status.hostIP", "status.hostIPs":
		return "127.0.0.1", true
	}
	if k, ok := strings.CutPrefix(path, "metadata.labels['"); ok {
		v, ok := pod.Labels[strings.TrimSuffix(k, "']")]
		return v, ok
	}
	if k, ok := strings.CutPrefix(path, "metadata.annotations['"); ok {
		v, ok := pod.Annotations[strings.TrimSuffix(k, "']")]
		return v, ok
	}
	return "", false
}

// appName is the pod's application name in the registry: its app label,
// else app.kubernetes.io/name, else its first container's name.
func appName(pod *corev1.Pod) string {
	for _, k := range []string{"app", "app.kubernetes.io/name"} {
		if v := pod.Labels[k]; v != "" {
			return v
		}
	}
	return pod.Spec.Containers[0].Name
}
