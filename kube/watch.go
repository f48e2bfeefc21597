package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"
)

// Condition judges one state of a watched object; obj is nil while the
// object does not exist. It returns done, or a message saying what is still
// awaited, or an error that ends the wait (a terminal failure), with the
// message of what it was awaiting then when there is one: the wait's
// error ends with it (lastSeen).
type Condition func(obj *unstructured.Unstructured) (done bool, msg string, err error)

// WaitFor watches r until cond is done and returns the object that satisfied
// it (nil if cond accepted absence). It lists the object once, judges that
// state, then follows a watch from the list's resourceVersion, judging every
// change in order; it reacts within milliseconds of a change and has no poll
// interval anywhere (an informer's cache-sync poll would add up to 100ms to
// every wait). The watch is resumed transparently when the server closes it,
// and the object is listed again when the server has compacted past it.
// report (may be nil) is called whenever the condition's message changes,
// not on every event.
//
// When ctx ends first the error names r and wraps the context's error
// (its cause), and ends with the last message.
func (c *Clients) WaitFor(ctx context.Context, r Ref, cond Condition, report func(string)) (*unstructured.Unstructured, error) {
	return c.wait(ctx, r, waitStart{}, cond, nil, report)
}

// WaitFrom is WaitFor for an object the caller holds as the server returned
// it (the response of a write): that state is judged first, and the watch
// starts from its resourceVersion, with no list; every later change is
// judged as WaitFor judges it. When the server has compacted past that
// version (410 Gone) it lists, as WaitFor does. A known without a
// resourceVersion is no start: WaitFor's list is made.
func (c *Clients) WaitFrom(ctx context.Context, r Ref, known *unstructured.Unstructured, cond Condition, report func(string)) (*unstructured.Unstructured, error) {
	if known == nil || known.GetResourceVersion() == "" {
		return c.WaitFor(ctx, r, cond, report)
	}
	return c.wait(ctx, r, waitStart{known: known}, cond, nil, report)
}

// WaitAfterWrite is WaitFor for an object the caller wrote without getting
// it back whole (a subresource such as scale answers with its own object,
// which carries the parent's resourceVersion but not its status): since is
// the resourceVersion of a read made before the write, wrote the
// resourceVersion the write returned. The watch starts from since, with no
// list; the states before the write's are passed over and every state from
// the write's on is judged, so a state the write replaced cannot end the
// wait. When since equals wrote the object did not change between the read
// and the write (nothing will be seen from since), and when either is
// unknown, or the server has compacted past since, the object is listed as
// WaitFor lists it.
func (c *Clients) WaitAfterWrite(ctx context.Context, r Ref, since, wrote string, cond Condition, report func(string)) (*unstructured.Unstructured, error) {
	return c.wait(ctx, r, afterWrite(since, wrote), cond, nil, report)
}

// WaitPodsAfterWrite is WaitAfterWrite for a workload whose pods cond
// counts (a scale's replicas): while it is not done its pods are followed
// and one that does not get ready is named in the message ("pod web-1
// Pending: 0/3 nodes are available: …", "pod web-1 CrashLoopBackOff: …";
// Stuck), as a rollout wait names it. It still waits until ctx ends: the
// pod may yet be placed (an autoscaler adding a node), or recover.
func (c *Clients) WaitPodsAfterWrite(ctx context.Context, r Ref, since, wrote string, cond Condition, report func(string)) (*unstructured.Unstructured, error) {
	cond, changed, stop := c.followPods(ctx, newAlarm(), cond)
	defer stop()
	return c.wait(ctx, r, afterWrite(since, wrote), cond, changed, report)
}

// afterWrite is where a wait after a write starts (WaitAfterWrite): a list
// when since and wrote are unknown or the same.
func afterWrite(since, wrote string) waitStart {
	if since == "" || wrote == "" || since == wrote {
		return waitStart{}
	}
	return waitStart{since: since, wrote: wrote}
}

// waitStart is where a wait begins: a list (zero value), a state held by
// the caller (known), or a watch from since whose events are judged from
// the one at resourceVersion wrote on.
type waitStart struct {
	known        *unstructured.Unstructured
	since, wrote string
}

// wait is every wait's loop. A value on changed (may be nil) says that
// something cond reads besides the object changed: the last state seen is
// judged again.
func (c *Clients) wait(ctx context.Context, r Ref, start waitStart, cond Condition, changed <-chan struct{}, report func(string)) (*unstructured.Unstructured, error) {
	ri := c.Resource(r)
	selector := fields.OneTermEqualSelector("metadata.name", r.Name).String()
	last := ""
	announced := false
	var lastObj *unstructured.Unstructured // the last state judged
	judgedAny := false
	check := func(obj *unstructured.Unstructured) (bool, error) {
		lastObj, judgedAny = obj, true
		done, msg, err := cond(obj)
		if err != nil {
			// The state that failed, as a timeout's is: why the pods
			// were not ready when the deadline passed.
			return false, lastSeen(err, msg)
		}
		if !done && !announced && report != nil {
			// Said once, before what it waits for: how long it will.
			announced = true
			report(WaitingUpTo(ctx, r.Short()))
		}
		if msg != "" && msg != last {
			last = msg
			if report != nil {
				report(msg)
			}
		}
		return done, nil
	}
	ended := func() error {
		cause := context.Cause(ctx)
		what := "timed out"
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			what = "stopped"
		}
		if judgedAny && changed != nil {
			// Judged again: what a message about pods says of time
			// ("running, not ready for 40s") is as of the end, not of
			// the last event.
			if done, msg, _ := cond(lastObj); !done && msg != "" {
				last = msg
			}
		}
		if last == "" {
			return fmt.Errorf("%s waiting for %s: %w", what, r, cause)
		}
		return lastSeen(fmt.Errorf("%s waiting for %s (%w)", what, r, cause), last)
	}

	for {
		var rv string
		var judged *unstructured.Unstructured // the state judged before the watch
		seen := false
		judge := check
		switch {
		case start.known != nil:
			obj := start.known
			judged, seen = obj, true
			if done, err := check(obj); err != nil || done {
				return obj, err
			}
			rv = obj.GetResourceVersion()
		case start.since != "":
			rv = start.since
			// Events come in resourceVersion order and the write's state
			// is one of them: the states before it are not judged.
			wrote, seen := start.wrote, false
			judge = func(obj *unstructured.Unstructured) (bool, error) {
				if !seen {
					if obj == nil || obj.GetResourceVersion() != wrote {
						return false, nil
					}
					seen = true
				}
				return check(obj)
			}
		default:
			list, err := ri.List(ctx, metav1.ListOptions{FieldSelector: selector})
			if err != nil {
				if ctx.Err() != nil {
					return nil, ended()
				}
				return nil, fmt.Errorf("reading %s: %w", r, err)
			}
			var obj *unstructured.Unstructured
			if len(list.Items) > 0 {
				obj = &list.Items[0]
			}
			if done, err := check(obj); err != nil || done {
				return obj, err
			}
			judged, seen = obj, true
			rv = list.GetResourceVersion()
		}
		// A start the server has compacted past is listed from now on.
		start = waitStart{}
		w, err := watchtools.NewRetryWatcherWithContext(ctx, rv, watcherFunc(func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return ri.Watch(ctx, o)
		}))
		if err != nil {
			return nil, fmt.Errorf("watching %s: %w", r, err)
		}
		obj, done, relist, err := follow(ctx, w, judge, changed, judged, seen)
		w.Stop()
		<-w.Done()
		var status apierrors.APIStatus
		switch {
		case err != nil && !errors.As(err, &status):
			// cond's verdict (a rollout past its progress deadline):
			// worded as when the state judged before the watch gives it.
			return nil, err
		case err != nil:
			return nil, fmt.Errorf("watching %s: %w", r, err)
		case done:
			return obj, nil
		case ctx.Err() != nil:
			return nil, ended()
		case !relist:
			return nil, fmt.Errorf("watching %s: the watch ended unexpectedly", r)
		}
	}
}

// lastSeen ends err, the failure of a wait, with msg, the last thing it
// saw ("; last seen: deployment/web: 0 of 2 updated replicas are
// available; pod web-1 CrashLoopBackOff: …"): the failure line and the
// run's summary end with why the wait did not finish, whether its time
// ran out or its condition failed. err is unchanged when msg is "".
func lastSeen(err error, msg string) error {
	if msg == "" {
		return err
	}
	return &seenError{err: err, seen: msg}
}

type seenError struct {
	err  error
	seen string
}

// Error drops a final period of err's ("ReplicaSet "web-1" has timed out
// progressing.", the deployment controller's words): a sentence goes on.
func (e *seenError) Error() string {
	return strings.TrimSuffix(e.err.Error(), ".") + "; last seen: " + e.seen
}

func (e *seenError) Unwrap() error { return e.err }

// follow judges watch events until the condition is done, fails, the
// context ends, or the server says the resourceVersion is too old (relist).
// A value on changed judges the last state the watch delivered again.
// last is the state judged before the watch, when seen.
func follow(ctx context.Context, w watch.Interface, check func(*unstructured.Unstructured) (bool, error), changed <-chan struct{}, last *unstructured.Unstructured, seen bool) (obj *unstructured.Unstructured, done, relist bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return nil, false, false, nil
		case <-changed:
			if seen {
				if done, err := check(last); err != nil || done {
					return last, done, false, err
				}
			}
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, false, ctx.Err() == nil, nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				o, ok := ev.Object.(*unstructured.Unstructured)
				if !ok {
					continue
				}
				last, seen = o, true
				if done, err := check(o); err != nil || done {
					return o, done, false, err
				}
			case watch.Deleted:
				last, seen = nil, true
				if done, err := check(nil); err != nil || done {
					return nil, done, false, err
				}
			case watch.Error:
				status := apierrors.FromObject(ev.Object)
				if apierrors.IsResourceExpired(status) || apierrors.IsGone(status) {
					return nil, false, true, nil
				}
				return nil, false, false, status
			}
		}
	}
}

// WaitingUpTo is the first line of a wait for what: how long it may take
// (ctx's deadline), "web: waiting up to 5m0s (until 12:05:03 UTC)", or
// that nothing bounds it.
func WaitingUpTo(ctx context.Context, what string) string {
	dl, ok := ctx.Deadline()
	if !ok {
		return what + ": waiting with no time limit"
	}
	return fmt.Sprintf("%s: waiting up to %s (until %s)", what, max(time.Until(dl), 0).Round(time.Second), dl.UTC().Format("15:04:05 MST"))
}

// watcherFunc adapts a function to cache.WatcherWithContext.
type watcherFunc func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)

// A watch refused at once because its resourceVersion is too old (the
// server may answer 410 Gone to the request rather than in the stream) is
// turned into that error event, which follow answers with a list: the
// RetryWatcher would otherwise retry the same resourceVersion for ever.
func (f watcherFunc) WatchWithContext(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	w, err := f(ctx, o)
	if err != nil && (apierrors.IsResourceExpired(err) || apierrors.IsGone(err)) {
		var status apierrors.APIStatus
		if errors.As(err, &status) {
			fw := watch.NewFakeWithChanSize(1, false)
			st := status.Status()
			fw.Error(&st)
			return fw, nil
		}
	}
	return w, err
}

// WaitRollout waits until the workload at r has rolled out (RolloutStatus),
// reporting progress, with a pod that does not get ready named (Stuck);
// a missing object is awaited too. When ctx ends first the error is a
// *RolloutUnfinished.
func (c *Clients) WaitRollout(ctx context.Context, r Ref, report func(string)) (*unstructured.Unstructured, error) {
	return c.WaitRolloutFrom(ctx, r, nil, report)
}

// WaitRolloutFrom is WaitRollout from a state the caller holds (the
// response of the write that started the rollout; see WaitFrom).
func (c *Clients) WaitRolloutFrom(ctx context.Context, r Ref, known *unstructured.Unstructured, report func(string)) (*unstructured.Unstructured, error) {
	cond, changed, stop := c.rolloutWatch(ctx, r)
	defer stop()
	start := waitStart{}
	if known != nil && known.GetResourceVersion() != "" {
		start.known = known
	}
	obj, err := c.wait(ctx, r, start, cond, changed, report)
	if err != nil && ctx.Err() != nil {
		return nil, &RolloutUnfinished{err: err}
	}
	return obj, err
}

// WaitGone waits until r no longer exists (its finalizers have run).
func (c *Clients) WaitGone(ctx context.Context, r Ref, report func(string)) error {
	_, err := c.WaitFor(ctx, r, func(obj *unstructured.Unstructured) (bool, string, error) {
		if obj == nil {
			return true, r.Short() + ": gone", nil
		}
		msg := r.Short() + ": waiting for deletion"
		if f := obj.GetFinalizers(); len(f) > 0 {
			msg = fmt.Sprintf("%s: waiting for finalizers %v", r.Short(), f)
		}
		return false, msg, nil
	}, report)
	return err
}
