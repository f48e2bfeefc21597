package kube

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// Condition judges one state of a watched object; obj is nil while the
// object does not exist. It returns done, or a message saying what is still
// awaited, or an error that ends the wait (a terminal failure).
type Condition func(obj *unstructured.Unstructured) (done bool, msg string, err error)

// WaitFor watches r until cond is done and returns the object that satisfied
// it (nil if cond accepted absence). It is driven by a watch, so it reacts
// within milliseconds of the change; the watch is re-established
// transparently when the server closes it. report (may be nil) is called
// whenever the condition's message changes, not on every event.
//
// When ctx ends first the error names r and the last message, and wraps the
// context's error.
func (c *Clients) WaitFor(ctx context.Context, r Ref, cond Condition, report func(string)) (*unstructured.Unstructured, error) {
	ri := c.Resource(r)
	// One GET first: a forbidden or unknown resource must fail now with the
	// server's words, not retry silently inside the informer until timeout.
	if _, err := c.Get(ctx, r); err != nil {
		return nil, err
	}

	last := ""
	var result *unstructured.Unstructured
	check := func(obj *unstructured.Unstructured) (bool, error) {
		done, msg, err := cond(obj)
		if err != nil {
			return false, err
		}
		if msg != "" && msg != last {
			last = msg
			if report != nil {
				report(msg)
			}
		}
		if done {
			result = obj
		}
		return done, nil
	}

	selector := fields.OneTermEqualSelector("metadata.name", r.Name).String()
	lw := &cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return ri.List(ctx, o)
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return ri.Watch(ctx, o)
		},
	}
	key := r.Name
	if r.Namespace != "" {
		key = r.Namespace + "/" + r.Name
	}
	// The precondition runs once the informer has synced, but its events
	// (the Added of the initial list, then every change) are replayed to
	// onEvent afterwards, in order. Judging the present object here would
	// judge the newest state first and then older ones again; so only
	// absence, which produces no event, is judged here.
	pre := func(store cache.Store) (bool, error) {
		_, exists, err := store.GetByKey(key)
		if err != nil || exists {
			return false, err
		}
		return check(nil)
	}
	onEvent := func(ev watch.Event) (bool, error) {
		obj, _ := ev.Object.(*unstructured.Unstructured)
		switch ev.Type {
		case watch.Added, watch.Modified:
			return check(obj)
		case watch.Deleted:
			return check(nil)
		}
		return false, nil
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, pre, onEvent)
	if err == nil {
		return result, nil
	}
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		what := "timed out"
		if !errors.Is(cause, context.DeadlineExceeded) {
			what = "stopped"
		}
		if last == "" {
			return nil, fmt.Errorf("%s waiting for %s: %w", what, r, cause)
		}
		return nil, fmt.Errorf("%s waiting for %s; last seen: %s: %w", what, r, last, cause)
	}
	return nil, err
}

// WaitRollout waits until the workload at r has rolled out (RolloutStatus),
// reporting progress; a missing object is awaited too.
func (c *Clients) WaitRollout(ctx context.Context, r Ref, report func(string)) (*unstructured.Unstructured, error) {
	return c.WaitFor(ctx, r, func(obj *unstructured.Unstructured) (bool, string, error) {
		if obj == nil {
			return false, r.Short() + ": waiting for it to exist", nil
		}
		return RolloutStatus(obj)
	}, report)
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
