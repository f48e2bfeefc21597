package testcluster

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// until lists what lw selects, then watches from the list's resourceVersion,
// and calls check with the current objects after the list and after every
// event until check says done, fails, or ctx ends. A closed or expired watch
// relists. It is watchtools.UntilWithSync without the informer's 100ms
// cache-sync polling, so a wait reacts within milliseconds.
func until(ctx context.Context, lw cache.ListerWatcherWithContext, check func(objs []runtime.Object) (bool, error)) error {
	for {
		list, err := lw.ListWithContext(ctx, metav1.ListOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
				continue
			}
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		objs := map[string]runtime.Object{}
		for _, o := range items {
			objs[objectKey(o)] = o
		}
		done, err := check(values(objs))
		if done || err != nil {
			return err
		}
		la, err := meta.ListAccessor(list)
		if err != nil {
			return err
		}
		w, err := lw.WatchWithContext(ctx, metav1.ListOptions{ResourceVersion: la.GetResourceVersion(), AllowWatchBookmarks: true})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		done, err = drain(ctx, w, objs, check)
		w.Stop()
		if done || err != nil {
			return err
		}
	}
}

// drain applies watch events to objs until check is done or the watch ends
// (false, nil: relist).
func drain(ctx context.Context, w watch.Interface, objs map[string]runtime.Object, check func([]runtime.Object) (bool, error)) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				objs[objectKey(ev.Object)] = ev.Object
			case watch.Deleted:
				delete(objs, objectKey(ev.Object))
			case watch.Error:
				return false, nil
			default:
				continue
			}
			if done, err := check(values(objs)); done || err != nil {
				return done, err
			}
		}
	}
}

func objectKey(o runtime.Object) string {
	a, err := meta.Accessor(o)
	if err != nil {
		return ""
	}
	return a.GetNamespace() + "/" + a.GetName()
}

func values(m map[string]runtime.Object) []runtime.Object {
	out := make([]runtime.Object, 0, len(m))
	for _, o := range m {
		out = append(out, o)
	}
	return out
}
