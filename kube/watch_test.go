package kube

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

func flagCM(phase string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "flag", "namespace": "ns", "resourceVersion": "5"},
		"data":     map[string]any{"phase": phase},
	}}
}

var flagRef = Ref{APIVersion: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: "ns", Name: "flag"}

func phaseIs(want string) Condition {
	return func(obj *unstructured.Unstructured) (bool, string, error) {
		if obj == nil {
			return false, "absent", nil
		}
		p, _, _ := unstructured.NestedString(obj.Object, "data", "phase")
		return p == want, "phase " + p, nil
	}
}

// The server compacted past the listed resourceVersion: WaitFor lists again
// and goes on from the new state instead of failing.
func TestWaitForRelistsOnExpired(t *testing.T) {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{gvr: "ConfigMapList"}, flagCM("wait"))
	watches := 0
	dyn.PrependWatchReactor("configmaps", func(clienttesting.Action) (bool, watch.Interface, error) {
		watches++
		w := watch.NewFakeWithChanSize(2, false)
		if watches == 1 {
			w.Error(&apierrors.NewResourceExpired("too old resource version").ErrStatus)
		} else {
			w.Modify(flagCM("go"))
		}
		return true, w, nil
	})
	lists := 0
	dyn.PrependReactor("list", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
		lists++
		return true, listOf("10", flagCM("wait")), nil
	})
	var reports []string
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	obj, err := (&Clients{Dynamic: dyn}).WaitFor(ctx, flagRef, phaseIs("go"), func(m string) { reports = append(reports, m) })
	if err != nil {
		t.Fatal(err)
	}
	if p, _, _ := unstructured.NestedString(obj.Object, "data", "phase"); p != "go" {
		t.Errorf("returned phase %q", p)
	}
	if lists != 2 || watches != 2 {
		t.Errorf("lists = %d, watches = %d; want a relist after the expired watch", lists, watches)
	}
	if strings.Join(afterDeadline(t, reports), ",") != "phase wait,phase go" {
		t.Errorf("reports = %q, want one per change of message", reports)
	}
}

func TestWaitForAbsentAndTimeout(t *testing.T) {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{gvr: "ConfigMapList"})
	dyn.PrependReactor("list", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, listOf("10"), nil
	})
	c := &Clients{Dynamic: dyn}
	// Absence is judged at once: WaitGone of a missing object returns.
	if err := c.WaitGone(context.Background(), flagRef, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.WaitFor(ctx, flagRef, phaseIs("go"), nil)
	if err == nil || !strings.Contains(err.Error(), "timed out waiting for configmap/flag in namespace ns (context deadline exceeded); last seen: absent") {
		t.Errorf("err = %v", err)
	}
}

// listOf is a list as the API server sends it, with a resourceVersion (the
// fake client's own lists have none).
func listOf(rv string, items ...*unstructured.Unstructured) *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMapList"}}
	l.SetResourceVersion(rv)
	for _, i := range items {
		l.Items = append(l.Items, *i)
	}
	return l
}

// cmAt is flagCM at resourceVersion rv.
func cmAt(phase, rv string) *unstructured.Unstructured {
	o := flagCM(phase)
	o.SetResourceVersion(rv)
	return o
}

// fakeServer answers lists with list and each watch with the events of the
// next entry of watches, recording the resourceVersion each watch asked for.
type fakeServer struct {
	lists   int
	watchRV []string
}

func (s *fakeServer) clients(list *unstructured.UnstructuredList, watches ...func(*watch.FakeWatcher) error) *Clients {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{gvr: "ConfigMapList"})
	dyn.PrependWatchReactor("configmaps", func(a clienttesting.Action) (bool, watch.Interface, error) {
		s.watchRV = append(s.watchRV, a.(clienttesting.WatchActionImpl).WatchRestrictions.ResourceVersion)
		w := watch.NewFakeWithChanSize(4, false)
		if n := len(s.watchRV); n <= len(watches) {
			if err := watches[n-1](w); err != nil {
				return true, nil, err
			}
		}
		return true, w, nil
	})
	dyn.PrependReactor("list", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
		s.lists++
		return true, list, nil
	})
	return &Clients{Dynamic: dyn}
}

// afterDeadline checks that a wait's first report says how long it may
// take (its context's minute) and returns the others.
func afterDeadline(t *testing.T, reports []string) []string {
	t.Helper()
	if len(reports) == 0 || !regexp.MustCompile(`^configmap/flag: waiting up to (1m0s|59s) \(until [0-9:]+ UTC\)$`).MatchString(reports[0]) {
		t.Errorf("reports = %q: want the wait's bound first", reports)
		return reports
	}
	return reports[1:]
}

func TestWaitingUpToWithoutDeadline(t *testing.T) {
	if got := WaitingUpTo(context.Background(), "deployment/web"); got != "deployment/web: waiting with no time limit" {
		t.Errorf("got %q", got)
	}
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// A wait after a write starts from the object the write returned: that
// state is judged, the watch starts at its resourceVersion, nothing is
// listed.
func TestWaitFromWatchesFromTheWrite(t *testing.T) {
	var s fakeServer
	c := s.clients(listOf("99", cmAt("go", "99")), func(w *watch.FakeWatcher) error {
		w.Modify(cmAt("still", "8"))
		w.Modify(cmAt("go", "9"))
		return nil
	})
	var reports []string
	obj, err := c.WaitFrom(waitCtx(t), flagRef, cmAt("wait", "7"), phaseIs("go"), func(m string) { reports = append(reports, m) })
	if err != nil {
		t.Fatal(err)
	}
	if obj.GetResourceVersion() != "9" {
		t.Errorf("returned the object at %s, want 9", obj.GetResourceVersion())
	}
	if s.lists != 0 || strings.Join(s.watchRV, ",") != "7" {
		t.Errorf("lists = %d, watches from %v; want no list and one watch from 7", s.lists, s.watchRV)
	}
	if strings.Join(afterDeadline(t, reports), ",") != "phase wait,phase still,phase go" {
		t.Errorf("reports = %q", reports)
	}

	// A known state that already satisfies the condition makes no request.
	s = fakeServer{}
	c = s.clients(listOf("1"))
	if _, err := c.WaitFrom(waitCtx(t), flagRef, cmAt("go", "7"), phaseIs("go"), nil); err != nil {
		t.Fatal(err)
	}
	if s.lists != 0 || len(s.watchRV) != 0 {
		t.Errorf("lists = %d, watches = %d; want none", s.lists, len(s.watchRV))
	}
}

// The server compacted past the write's resourceVersion, in the stream or
// by refusing the watch request itself: the wait lists and goes on from the
// list, as WaitFor does.
func TestWaitFromListsWhenTheWriteIsTooOld(t *testing.T) {
	expired := apierrors.NewResourceExpired("too old resource version: 7 (50)")
	for name, first := range map[string]func(*watch.FakeWatcher) error{
		"event":   func(w *watch.FakeWatcher) error { w.Error(&expired.ErrStatus); return nil },
		"request": func(*watch.FakeWatcher) error { return apierrors.NewGone("too old resource version: 7 (50)") },
	} {
		t.Run(name, func(t *testing.T) {
			var s fakeServer
			c := s.clients(listOf("60", cmAt("wait", "55")), first, func(w *watch.FakeWatcher) error {
				w.Modify(cmAt("go", "61"))
				return nil
			})
			obj, err := c.WaitFrom(waitCtx(t), flagRef, cmAt("wait", "7"), phaseIs("go"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if obj.GetResourceVersion() != "61" {
				t.Errorf("returned the object at %s, want 61", obj.GetResourceVersion())
			}
			if s.lists != 1 || strings.Join(s.watchRV, ",") != "7,60" {
				t.Errorf("lists = %d, watches from %v; want one list and watches from 7 then 60", s.lists, s.watchRV)
			}
		})
	}
}

// A write answered without the object's state (a scale subresource): the
// watch starts from the read before the write, and states before the
// write's cannot end the wait even when they satisfy the condition.
func TestWaitAfterWriteJudgesFromTheWrite(t *testing.T) {
	var s fakeServer
	c := s.clients(listOf("99"), func(w *watch.FakeWatcher) error {
		w.Modify(cmAt("go", "6"))   // someone else's change before the write
		w.Modify(cmAt("wait", "7")) // the write
		w.Modify(cmAt("go", "8"))
		return nil
	})
	var reports []string
	obj, err := c.WaitAfterWrite(waitCtx(t), flagRef, "5", "7", phaseIs("go"), func(m string) { reports = append(reports, m) })
	if err != nil {
		t.Fatal(err)
	}
	if obj.GetResourceVersion() != "8" {
		t.Errorf("returned the object at %s, want 8 (6 precedes the write)", obj.GetResourceVersion())
	}
	if s.lists != 0 || strings.Join(s.watchRV, ",") != "5" {
		t.Errorf("lists = %d, watches from %v; want no list and one watch from 5", s.lists, s.watchRV)
	}
	if strings.Join(afterDeadline(t, reports), ",") != "phase wait,phase go" {
		t.Errorf("reports = %q; states before the write are not reported", reports)
	}
}

// A write that changed nothing leaves the resourceVersion of the read: no
// event will come, so the object is listed.
func TestWaitAfterWriteOfNothingLists(t *testing.T) {
	var s fakeServer
	c := s.clients(listOf("5", cmAt("go", "5")))
	if _, err := c.WaitAfterWrite(waitCtx(t), flagRef, "5", "5", phaseIs("go"), nil); err != nil {
		t.Fatal(err)
	}
	if s.lists != 1 || len(s.watchRV) != 0 {
		t.Errorf("lists = %d, watches = %d; want the list alone", s.lists, len(s.watchRV))
	}
}

// A condition's verdict ends the wait's error with the message it came
// with, as a timeout's ends with the last one (lastSeen); a verdict
// without one is left as it is.
func TestWaitFailureSaysWhatItSaw(t *testing.T) {
	verdict := errors.New(`ReplicaSet "web-1" has timed out progressing.`)
	cond := func(msg string) Condition {
		return func(*unstructured.Unstructured) (bool, string, error) { return false, msg, verdict }
	}
	var s fakeServer
	c := s.clients(listOf("10", cmAt("stuck", "10")))
	_, err := c.WaitFor(context.Background(), flagRef, cond("deployment/web: 0 of 2 updated replicas are available; pod web-1 CrashLoopBackOff"), nil)
	want := `ReplicaSet "web-1" has timed out progressing; last seen: deployment/web: 0 of 2 updated replicas are available; pod web-1 CrashLoopBackOff`
	if err == nil || err.Error() != want || !errors.Is(err, verdict) {
		t.Errorf("err = %v, want %q wrapping the verdict", err, want)
	}
	if _, err := c.WaitFor(context.Background(), flagRef, cond(""), nil); err != verdict {
		t.Errorf("err = %v, want the verdict as it is", err)
	}
}
