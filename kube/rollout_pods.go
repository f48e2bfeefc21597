package kube

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/cutoverhq/cutover/internal/words"
)

// podWatch follows the pods a workload selects while a rollout wait runs,
// so that the wait can say why it is not done: a workload's status counts
// pods that are not ready but never says that the scheduler cannot place
// one, or that one crashes over and over (docs/design.md, "Rollout
// waits"). It is best effort: without the right to
// list and watch pods, or once the watch fails, the wait goes on with the
// workload's status alone.
type podWatch struct {
	mu    sync.Mutex
	pods  map[types.UID]*corev1.Pod
	alarm *alarm // poked after every change, and when a pod will have been slow to get ready
}

// start follows the pods obj selects until ctx ends; false when obj
// selects no pods.
func (pw *podWatch) start(ctx context.Context, c *Clients, obj *unstructured.Unstructured) bool {
	sel, err := SelectorOf(obj)
	if err != nil || sel == nil || c.Typed == nil {
		return false
	}
	go pw.follow(ctx, c, obj.GetNamespace(), sel.String())
	return true
}

func (pw *podWatch) follow(ctx context.Context, c *Clients, ns, sel string) {
	pods := c.Typed.CoreV1().Pods(ns)
	for ctx.Err() == nil {
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return
		}
		pw.set(list.Items)
		pw.alarm.poke()
		w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, watcherFunc(func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel
			return pods.Watch(ctx, o)
		}))
		if err != nil {
			return
		}
		relist := pw.apply(ctx, w)
		w.Stop()
		<-w.Done()
		if !relist {
			return
		}
	}
}

// set makes pods the pods known.
func (pw *podWatch) set(pods []corev1.Pod) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	clear(pw.pods)
	for i := range pods {
		pw.pods[pods[i].UID] = &pods[i]
	}
}

// once lists the pods obj selects, for a verdict on a state judged
// before any pod was followed (a wait that begins past a progress
// deadline): best effort, as the watch is.
func (pw *podWatch) once(ctx context.Context, c *Clients, obj *unstructured.Unstructured) {
	sel, err := SelectorOf(obj)
	if err != nil || sel == nil || c.Typed == nil {
		return
	}
	list, err := c.Typed.CoreV1().Pods(obj.GetNamespace()).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err == nil {
		pw.set(list.Items)
	}
}

// apply keeps pods up to date from w; true when the server compacted past
// the watch's resourceVersion and the pods must be listed again.
func (pw *podWatch) apply(ctx context.Context, w watch.Interface) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false
			}
			if ev.Type == watch.Error {
				st := apierrors.FromObject(ev.Object)
				return apierrors.IsResourceExpired(st) || apierrors.IsGone(st)
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			pw.mu.Lock()
			if ev.Type == watch.Deleted {
				delete(pw.pods, p.UID)
			} else {
				pw.pods[p.UID] = p
			}
			pw.mu.Unlock()
			pw.alarm.poke()
		}
	}
}

// stuck says why the pods are not ready (Stuck). When a pod running but
// not ready will be named later, with no event then to say so, the alarm
// re-judges the state at that time.
func (pw *podWatch) stuck() string {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	now := time.Now()
	msg, recheck := Stuck(pw.pods, now)
	if recheck > 0 {
		pw.alarm.at(now.Add(recheck))
	}
	return msg
}

// Unschedulable says which of pods the scheduler cannot place: "pod web-1
// Pending: 0/3 nodes are available: …", from the
// PodScheduled condition it writes; "" when none.
func Unschedulable(pods map[types.UID]*corev1.Pod) string {
	var names []string
	why := map[string]string{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				names = append(names, p.Name)
				why[p.Name] = cmp.Or(strings.TrimSpace(c.Message), c.Reason)
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	msg := fmt.Sprintf("pod %s Pending: %s", names[0], why[names[0]])
	if n := len(names) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %s not scheduled)", words.Count(n, "more pod"))
	}
	return msg
}

// rolloutWatch is the condition of a rollout wait, with its pods followed
// (followPods), and a Deployment's rollout that its controller does not
// time timed by the wait (progressClock), judged again when its deadline
// passes.
func (c *Clients) rolloutWatch(ctx context.Context, r Ref) (cond Condition, changed <-chan struct{}, stop func()) {
	al := newAlarm()
	var clock progressClock
	return c.followPods(ctx, al, func(obj *unstructured.Unstructured) (bool, string, error) {
		if obj == nil {
			return false, r.Short() + ": waiting for it to exist", nil
		}
		done, msg, err := rolloutStatus(obj, &clock, time.Now())
		al.at(clock.due)
		return done, msg, err
	})
}

// followPods is base with, once base says a workload is not done, the
// pods the workload selects followed: their changes re-judge the last
// state (al, which changed receives), and a pod that cannot be scheduled,
// or does not get ready (Stuck), is named in the message. stop ends the
// pod watch and al. Whatever waits for a workload's pods (a rollout, a
// scale) says why one cannot start or crashes, rather than counting ready
// replicas until the timeout. A verdict of base that comes with its
// message (a rollout past its progress deadline) gets the pods' reason
// too, judged then, and the wait's error ends with both (lastSeen), as a
// timeout's does.
func (c *Clients) followPods(ctx context.Context, al *alarm, base Condition) (cond Condition, changed <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	pw := &podWatch{pods: map[types.UID]*corev1.Pod{}, alarm: al}
	stop = func() {
		cancel()
		al.stop()
	}
	following := false
	cond = func(obj *unstructured.Unstructured) (bool, string, error) {
		done, msg, err := base(obj)
		if done || obj == nil || (err != nil && msg == "") {
			return done, msg, err
		}
		switch {
		case following:
		case err != nil:
			pw.once(ctx, c, obj)
		default:
			following = pw.start(ctx, c, obj)
		}
		if s := pw.stuck(); s != "" {
			msg += "; " + s
		}
		return done, msg, err
	}
	return cond, al.c, stop
}
