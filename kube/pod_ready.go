package kube

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/internal/words"
)

// SlowReady is how long a pod may run without being ready before a wait
// names it ("pod web-1 running, not ready for 10s"): a pod normally passes
// its first readiness probe within a probe period (10s by default), and
// naming every pod that starts would only add noise to healthy rollouts.
// A pod whose container crashes or cannot be pulled is named at once.
const SlowReady = 10 * time.Second

// Stuck says why some of pods are not becoming ready, for a wait that waits
// for them: the pods the scheduler cannot place (Unschedulable) first, else
// the pods that do not get ready (NotReady). recheck, when not zero, is
// how long from now a pod running but not ready will have been so for
// SlowReady: the answer changes then with no event to say so.
func Stuck(pods map[types.UID]*corev1.Pod, now time.Time) (msg string, recheck time.Duration) {
	if s := Unschedulable(pods); s != "" {
		return s, 0
	}
	return NotReady(pods, now)
}

// NotReady says why a placed pod of pods is not ready, as `kubectl get pods`
// shows it, with what the pod's status adds: a container waiting to start
// again after it failed ("pod demo-2 CrashLoopBackOff: container demo
// restarted 41 times, last exit code 1 (Error)"), an image that cannot be
// pulled ("pod web-1 ImagePullBackOff: container web image
// shop/web:v9"), a container that ended, or a pod that has run for
// SlowReady without being ready (its readiness probe fails, or the
// application has not started yet): "pod web-1 running, not ready for 40s".
// The first pod by name is named, with how many more are not ready. ""
// when none is; recheck as Stuck's.
func NotReady(pods map[types.UID]*corev1.Pod, now time.Time) (msg string, recheck time.Duration) {
	var names []string
	why := map[string]string{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Spec.NodeName == "" || podReady(p) {
			continue
		}
		w, wait := notReady(p, now)
		if wait > 0 && (recheck == 0 || wait < recheck) {
			recheck = wait
		}
		if w != "" {
			names = append(names, p.Name)
			why[p.Name] = w
		}
	}
	if len(names) == 0 {
		return "", recheck
	}
	slices.Sort(names)
	msg = fmt.Sprintf("pod %s %s", names[0], why[names[0]])
	if n := len(names) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %s not ready)", words.Count(n, "more pod"))
	}
	return msg, recheck
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// notReady is why p is not ready, or "" with how long until it has run
// for SlowReady (0: never, or already).
func notReady(p *corev1.Pod, now time.Time) (string, time.Duration) {
	// Init containers first: the others start only once they are done.
	for i := range p.Status.InitContainerStatuses {
		if w := failing(&p.Status.InitContainerStatuses[i], "init container"); w != "" {
			return w, 0
		}
	}
	for i := range p.Status.ContainerStatuses {
		if w := failing(&p.Status.ContainerStatuses[i], "container"); w != "" {
			return w, 0
		}
	}
	if p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) == 0 {
		return "", 0
	}
	// Running, every container started, not ready: since the later of the
	// Ready condition's last change and the newest container start.
	var since time.Time
	var unready *corev1.ContainerStatus
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			since = c.LastTransitionTime.Time
		}
	}
	for i := range p.Status.ContainerStatuses {
		cs := &p.Status.ContainerStatuses[i]
		r := cs.State.Running
		if r == nil {
			return "", 0 // still being created: nothing to say yet
		}
		if r.StartedAt.After(since) {
			since = r.StartedAt.Time
		}
		if !cs.Ready && unready == nil {
			unready = cs
		}
	}
	if since.IsZero() {
		return "", 0
	}
	if d := since.Add(SlowReady).Sub(now); d > 0 {
		return "", d
	}
	msg := fmt.Sprintf("running, not ready for %s", now.Sub(since).Truncate(time.Second))
	if unready != nil {
		if r := restarts(unready); r != "" {
			msg += ": container " + unready.Name + " " + r
		} else if len(p.Status.ContainerStatuses) > 1 {
			msg += ": container " + unready.Name
		}
	}
	return msg, 0
}

// failing says why container cs is neither running nor starting for the
// first time: waiting with a reason other than its creation, or ended
// with a failure; "" otherwise.
func failing(cs *corev1.ContainerStatus, what string) string {
	what += " " + cs.Name
	switch {
	case cs.State.Waiting != nil:
		w := cs.State.Waiting
		switch w.Reason {
		case "", "ContainerCreating", "PodInitializing":
			return ""
		case "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull":
			what += " image " + cs.Image
		}
		msg := w.Reason + ": " + what
		if r := restarts(cs); r != "" {
			msg += " " + r
		} else if m := strings.TrimSpace(w.Message); m != "" && w.Reason != "ImagePullBackOff" && w.Reason != "CrashLoopBackOff" {
			// The kubelet's words (a missing Secret, a pull refused);
			// a back-off's only repeat the reason.
			msg += ": " + m
		}
		return msg
	case cs.State.Terminated != nil:
		t := cs.State.Terminated
		if t.ExitCode == 0 && (t.Reason == "" || t.Reason == "Completed") {
			return "" // an init container done, or a restart about to come
		}
		msg := fmt.Sprintf("%s: %s exit code %d", orTerminated(t.Reason), what, t.ExitCode)
		if cs.RestartCount > 0 {
			msg += ", restarted " + words.Count(int(cs.RestartCount), "time")
		}
		return msg
	}
	return ""
}

// restarts is "restarted 3 times, last exit code 1 (Error)" for a
// container that restarted, "" for one that never did.
func restarts(cs *corev1.ContainerStatus) string {
	if cs.RestartCount == 0 {
		return ""
	}
	msg := "restarted " + words.Count(int(cs.RestartCount), "time")
	if t := cs.LastTerminationState.Terminated; t != nil {
		msg += fmt.Sprintf(", last exit code %d (%s)", t.ExitCode, orTerminated(t.Reason))
	}
	return msg
}

func orTerminated(reason string) string {
	if reason == "" {
		return "Terminated"
	}
	return reason
}
