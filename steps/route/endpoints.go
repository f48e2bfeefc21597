package route

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func formatSelector(sel map[string]string) string {
	return labels.SelectorFromSet(sel).String()
}

// endpointState is what the EndpointSlices of a Service say at one moment.
type endpointState struct {
	onNew int      // ready endpoints whose pod matches the new selector
	stale []string // ready endpoints elsewhere (pods of the old selector)
}

func (s endpointState) done() bool { return s.onNew > 0 && len(s.stale) == 0 }

func (s endpointState) String() string {
	if len(s.stale) == 0 {
		return words.Count(s.onNew, "ready endpoint") + " on the new selector"
	}
	return fmt.Sprintf("%s on the new selector, %d still on other pods (%s)", words.Count(s.onNew, "ready endpoint"), len(s.stale), strings.Join(s.stale, ", "))
}

// endpointsOf evaluates slices against the set of pods matching the new
// selector. An endpoint without a Ready condition counts as ready, as the
// EndpointSlice API defines.
func endpointsOf(slices []*discoveryv1.EndpointSlice, matching map[string]bool) endpointState {
	var st endpointState
	for _, sl := range slices {
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			name := strings.Join(ep.Addresses, ",")
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
				name = ep.TargetRef.Name
				if matching[name] {
					st.onNew++
					continue
				}
			}
			st.stale = append(st.stale, name)
		}
	}
	sort.Strings(st.stale)
	return st
}

// waitEndpoints returns once every ready endpoint of the Service belongs to
// a pod matching sel and at least one is ready: then the switch has really
// moved the traffic. Two informers (the Service's EndpointSlices and the
// pods matching sel) wake the check on every change; there is no polling.
// pods (may be nil) is a complete list of the pods matching sel read
// before (the switch's guard): the pod informer starts from it and watches
// from its resourceVersion instead of listing again (firstList).
func waitEndpoints(ctx context.Context, env *steps.Env, cl *kube.Clients, ns, svc string, sel map[string]string, pods *corev1.PodList) error {
	wake := make(chan struct{}, 1)
	notify := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}
	sliceSel := discoveryv1.LabelServiceName + "=" + svc
	slices, sliceCtl := cache.NewInformerWithOptions(cache.InformerOptions{
		ObjectType: &discoveryv1.EndpointSlice{},
		Handler:    h,
		ListerWatcher: cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.LabelSelector = sliceSel
				return cl.Typed.DiscoveryV1().EndpointSlices(ns).List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.LabelSelector = sliceSel
				return cl.Typed.DiscoveryV1().EndpointSlices(ns).Watch(ctx, o)
			},
		}, cl.Typed),
	})
	podSel := formatSelector(sel)
	listPods := firstList(pods, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		o.LabelSelector = podSel
		return cl.Typed.CoreV1().Pods(ns).List(ctx, o)
	})
	podStore, podCtl := cache.NewInformerWithOptions(cache.InformerOptions{
		ObjectType: &corev1.Pod{},
		Handler:    h,
		ListerWatcher: listThenWatch{&cache.ListWatch{
			ListWithContextFunc: listPods,
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.LabelSelector = podSel
				return cl.Typed.CoreV1().Pods(ns).Watch(ctx, o)
			},
		}},
	})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go sliceCtl.RunWithContext(wctx)
	go podCtl.RunWithContext(wctx)
	if !cache.WaitForCacheSync(wctx.Done(), sliceCtl.HasSynced, podCtl.HasSynced) {
		return fmt.Errorf("service %q in namespace %q: could not list its EndpointSlices and pods before the stage ended: %w", svc, ns, context.Cause(ctx))
	}

	last := ""
	started := time.Now()
	for {
		matching := map[string]bool{}
		for _, o := range podStore.List() {
			matching[o.(*corev1.Pod).Name] = true
		}
		var sl []*discoveryv1.EndpointSlice
		for _, o := range slices.List() {
			sl = append(sl, o.(*discoveryv1.EndpointSlice))
		}
		st := endpointsOf(sl, matching)
		if msg := fmt.Sprintf("service %s: %s", svc, st); msg != last {
			env.Report(msg)
			last = msg
		}
		if st.done() {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("service %q in namespace %q switched to %s, but its endpoints did not follow within %s: %s: %w",
				svc, ns, formatLabels(sel), time.Since(started).Round(time.Millisecond), st, context.Cause(ctx))
		}
	}
}

// listThenWatch makes the reflector list, then watch from the list's
// resourceVersion, instead of one streaming watch that sends the initial
// state (client-go's WatchList, on by default since 1.35): the pod informer
// has its first list already (firstList), so it needs no initial events,
// and a fake clientset cannot stream them.
type listThenWatch struct{ *cache.ListWatch }

func (listThenWatch) IsWatchListSemanticsUnSupported() bool { return true }

// firstList answers an informer's first list with read, a complete list of
// the pods the caller already holds, and every later one (a relist after the
// server compacted past the watch's resourceVersion, or after a failed
// watch) with list: the informer then watches from read's resourceVersion
// without listing again. A nil read, one without a resourceVersion, or a
// partial one (a continue token) is not used.
func firstList(read *corev1.PodList, list func(context.Context, metav1.ListOptions) (runtime.Object, error)) func(context.Context, metav1.ListOptions) (runtime.Object, error) {
	var mu sync.Mutex
	usable := read != nil && read.ResourceVersion != "" && read.Continue == ""
	return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		mu.Lock()
		first := usable
		usable = false
		mu.Unlock()
		if first {
			return read, nil
		}
		return list(ctx, o)
	}
}
