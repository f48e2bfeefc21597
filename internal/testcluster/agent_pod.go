package testcluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cutoverhq/cutover/internal/testcluster/podnet"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// podRunner runs one pod: its containers, its status, its termination.
type podRunner struct {
	a      *agent
	ctx    context.Context // ends when the pod must die at once (kill)
	cancel context.CancelFunc

	terminating chan struct{} // closed when the pod is deleted (graceful)
	termOnce    sync.Once
	deadline    time.Time // of the graceful termination
	kick        chan struct{}

	mu         sync.Mutex
	pod        *corev1.Pod // the latest seen
	ip         string      // the loopback address the containers bind
	startTime  metav1.Time
	containers []*containerRunner
	failure    string // why the pod could not start
}

func newPodRunner(ctx context.Context, a *agent, pod *corev1.Pod) *podRunner {
	pr := &podRunner{a: a, pod: pod, terminating: make(chan struct{}), kick: make(chan struct{}, 1)}
	pr.ctx, pr.cancel = context.WithCancel(ctx)
	for i := range pod.Spec.Containers {
		pr.containers = append(pr.containers, &containerRunner{pr: pr, spec: &pod.Spec.Containers[i], first: i == 0})
	}
	return pr
}

// update records the latest pod; a deletion timestamp starts the graceful
// termination.
func (pr *podRunner) update(pod *corev1.Pod) {
	pr.mu.Lock()
	pr.pod = pod
	pr.mu.Unlock()
	if pod.DeletionTimestamp != nil {
		pr.termOnce.Do(func() {
			grace := int64(30)
			if pod.DeletionGracePeriodSeconds != nil {
				grace = *pod.DeletionGracePeriodSeconds
			}
			pr.deadline = time.Now().Add(time.Duration(grace) * time.Second)
			close(pr.terminating)
		})
	}
}

// kill ends the pod's processes at once (SIGKILL).
func (pr *podRunner) kill() { pr.cancel() }

func (pr *podRunner) isTerminating() bool {
	select {
	case <-pr.terminating:
		return true
	default:
		return false
	}
}

func (pr *podRunner) run() {
	defer pr.cancel()
	pr.update(pr.pod)
	var ports []int
	for _, c := range pr.pod.Spec.Containers {
		ports = append(ports, containerPorts(&c, true)...)
	}
	ip, err := pr.a.ips.allocate(ports)
	if err == nil {
		_, err = pr.a.demoApp(pr.ctx)
	}
	pr.mu.Lock()
	pr.ip, pr.startTime = ip, metav1.Now()
	if err != nil {
		pr.failure = err.Error()
	}
	pr.mu.Unlock()
	done := make(chan struct{})
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		pr.statusLoop(done)
	}()
	if err != nil {
		pr.event(corev1.EventTypeWarning, "Failed", err.Error())
		pr.a.logf("agent: pod %s/%s: %v", pr.pod.Namespace, pr.pod.Name, err)
		select {
		case <-pr.terminating:
		case <-pr.ctx.Done():
		}
	} else {
		var wg sync.WaitGroup
		for _, cr := range pr.containers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cr.loop()
			}()
		}
		wg.Wait()
	}
	close(done)
	<-statusDone
	if pr.ctx.Err() != nil {
		return // killed: the pod is gone or the agent stops
	}
	pr.writeStatus() // the containers' final states
	if pr.isTerminating() {
		pr.a.remove(pr.ctx, pr.currentPod())
	}
}

func (pr *podRunner) currentPod() *corev1.Pod {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.pod
}

// changed asks for a status write (coalesced).
func (pr *podRunner) changed() {
	select {
	case pr.kick <- struct{}{}:
	default:
	}
}

func (pr *podRunner) statusLoop(done <-chan struct{}) {
	pr.writeStatus()
	for {
		select {
		case <-done:
			return
		case <-pr.kick:
			pr.writeStatus()
		}
	}
}

// writeStatus writes the status computed from the runner's state onto the
// latest pod, reading the pod again after a conflict.
func (pr *podRunner) writeStatus() {
	pods := pr.a.cfg.Client.CoreV1().Pods(pr.pod.Namespace)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pod := pr.currentPod()
	for attempt := 0; attempt < 5; attempt++ {
		p := pod.DeepCopy()
		p.Status = pr.status(pod, time.Now())
		_, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		if err == nil || isGone(err) {
			return
		}
		if !apierrors.IsConflict(err) {
			pr.a.logf("agent: status of %s/%s: %v", pod.Namespace, pod.Name, err)
			return
		}
		if pod, err = pods.Get(ctx, pod.Name, metav1.GetOptions{}); err != nil {
			return
		}
		if pod.UID != pr.pod.UID {
			return
		}
	}
}

func isGone(err error) bool { return apierrors.IsNotFound(err) }

// status is the pod's status from the runner's state, the conditions it
// does not own (PodScheduled, readiness gates) kept from pod.
func (pr *podRunner) status(pod *corev1.Pod, now time.Time) corev1.PodStatus {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	st := *pod.Status.DeepCopy()
	st.HostIP, st.HostIPs = "127.0.0.1", []corev1.HostIP{{IP: "127.0.0.1"}}
	if pr.ip != "" {
		ip := podnet.PodIP(pr.ip)
		st.PodIP, st.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	}
	st.StartTime = &pr.startTime
	st.ContainerStatuses = nil
	allReady, allDone, allZero := true, true, true
	for _, cr := range pr.containers {
		cs := cr.statusLocked()
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		allReady = allReady && cs.Ready
		allDone = allDone && cr.done
		allZero = allZero && (cs.State.Terminated == nil || cs.State.Terminated.ExitCode == 0)
	}
	switch {
	case pr.failure != "":
		st.Phase, st.Reason, st.Message = corev1.PodPending, "ProcessPodFailed", pr.failure
		allReady = false
	case allDone && allZero:
		st.Phase = corev1.PodSucceeded
	case allDone:
		st.Phase = corev1.PodFailed
	default:
		st.Phase = corev1.PodRunning
	}
	containersReady := allReady && !allDone
	ready := containersReady
	for _, g := range pod.Spec.ReadinessGates {
		ready = ready && conditionStatus(st.Conditions, g.ConditionType) == corev1.ConditionTrue
	}
	mt := metav1.NewTime(now)
	setCondition(&st, corev1.PodReadyToStartContainers, pr.ip != "", mt)
	setCondition(&st, corev1.PodInitialized, true, mt)
	setCondition(&st, corev1.ContainersReady, containersReady, mt)
	setCondition(&st, corev1.PodReady, ready, mt)
	return st
}

func conditionStatus(conds []corev1.PodCondition, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range conds {
		if c.Type == t {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// setCondition sets a condition, keeping its transition time when its
// status does not change.
func setCondition(st *corev1.PodStatus, t corev1.PodConditionType, ok bool, now metav1.Time) {
	s := corev1.ConditionFalse
	if ok {
		s = corev1.ConditionTrue
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type == t {
			if c.Status != s {
				c.Status, c.LastTransitionTime = s, now
			}
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: s, LastTransitionTime: now})
}

// event records a Kubernetes Event on the pod (what the kubelet reports,
// and what the process pods add: PreStopHook, SIGTERM, SIGKILL, Exited),
// with a microsecond time so their order can be read back. Asynchronous:
// the lifecycle never waits on it.
func (pr *podRunner) event(typ, reason, msg string) {
	pod := pr.currentPod()
	now := time.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x%s", pod.Name, now.UnixNano(), rand.String(4)), Namespace: pod.Namespace},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		},
		Reason: reason, Message: msg, Type: typ,
		Source:              corev1.EventSource{Component: "process-pod-agent", Host: pod.Spec.NodeName},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: "cutover.dev/process-pod-agent", ReportingInstance: pod.Spec.NodeName, Action: reason,
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = pr.a.cfg.Client.CoreV1().Events(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	}()
	pr.a.logf("agent: %s/%s %s: %s", pod.Namespace, pod.Name, reason, msg)
}
