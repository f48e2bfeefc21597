package workloads

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// The pods of a StatefulSet or DaemonSet, for the kinds that roll them by
// hand (partition's undo, update_nodes): listing the pods a workload owns,
// replacing one, and waiting on the set of them.

// revisionOf is the controller revision a pod was made from: a
// StatefulSet's revision name, a DaemonSet's template hash.
func revisionOf(p *corev1.Pod) string { return p.Labels[appsv1.ControllerRevisionHashLabelKey] }

// selectorOf is the pod selector of a workload.
func selectorOf(obj *unstructured.Unstructured) (labels.Selector, error) {
	m, _, _ := unstructured.NestedMap(obj.Object, "spec", "selector")
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ls); err != nil {
		return nil, fmt.Errorf("the selector of %s/%s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return metav1.LabelSelectorAsSelector(&ls)
}

// ownedBy says whether the pod's controller is the object with uid.
func ownedBy(p *corev1.Pod, uid types.UID) bool {
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.UID == uid
}

// workloadPods lists the pods obj owns.
func workloadPods(ctx context.Context, c *kube.Clients, obj *unstructured.Unstructured) ([]corev1.Pod, error) {
	sel, err := selectorOf(obj)
	if err != nil {
		return nil, err
	}
	list, err := c.Typed.CoreV1().Pods(obj.GetNamespace()).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, steps.APIError(fmt.Errorf("listing the pods of %s/%s: %w", strings.ToLower(obj.GetKind()), obj.GetName(), err))
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if ownedBy(&p, obj.GetUID()) {
			out = append(out, p)
		}
	}
	return out, nil
}

// nodeOf is the node a DaemonSet's pod is for: the one it runs on, or,
// while the scheduler has not placed it (Pending: the node lacks room), the
// one its controller pinned it to by node affinity on metadata.name. Without
// that a Pending pod belongs to no node, and an undo would not see the
// pod of the release it must replace.
func nodeOf(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range t.MatchFields {
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// ordinalOf is a StatefulSet pod's ordinal (NAME-ORDINAL), -1 if none.
func ordinalOf(set, pod string) int64 {
	n, err := strconv.ParseInt(strings.TrimPrefix(pod, set+"-"), 10, 64)
	if err != nil || !strings.HasPrefix(pod, set+"-") {
		return -1
	}
	return n
}

// deletePod deletes p, unless it was deleted and re-created since it was
// read (a UID precondition): that pod is not the one the caller decided on.
func deletePod(ctx context.Context, c *kube.Clients, p *corev1.Pod) error {
	err := c.Typed.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return steps.APIError(fmt.Errorf("deleting pod %s to replace it: %w", p.Name, err))
	}
	return nil
}

// waitPods watches the pods matching sel in ns until judge, given every
// such pod (by UID, terminating ones included), is done. judge's message
// is reported when it changes.
func waitPods(ctx context.Context, c *kube.Clients, ns string, sel labels.Selector, judge func(map[types.UID]*corev1.Pod) (bool, string), report func(string)) error {
	pods := c.Typed.CoreV1().Pods(ns)
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel.String()
			return pods.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel.String()
			return pods.Watch(ctx, o)
		},
	}, c.Typed)
	seen := map[types.UID]*corev1.Pod{}
	last := ""
	announced := false
	check := func() bool {
		done, msg := judge(seen)
		if !done && !announced && report != nil {
			announced = true
			report(kube.WaitingUpTo(ctx, "pods "+sel.String()))
		}
		if msg != last && report != nil {
			report(msg)
		}
		last = msg
		return done
	}
	synced := func(store cache.Store) (bool, error) {
		for _, o := range store.List() {
			if p, ok := o.(*corev1.Pod); ok {
				seen[p.UID] = p
			}
		}
		return check(), nil
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, synced, func(e watch.Event) (bool, error) {
		p, ok := e.Object.(*corev1.Pod)
		if !ok {
			return false, nil
		}
		if e.Type == watch.Deleted {
			delete(seen, p.UID)
		} else {
			seen[p.UID] = p
		}
		return check(), nil
	})
	if err != nil {
		if last != "" {
			// The last message at the end, as kube's waits end theirs.
			err = fmt.Errorf("waiting for pods (%s: %w); last seen: %s", sel, err, last)
		} else {
			err = fmt.Errorf("waiting for pods (%s): %w", sel, err)
		}
		if ctx.Err() != nil {
			// Their controller goes on at its pace: another attempt
			// would wait for the same pods.
			return steps.Stuck(err)
		}
		return steps.APIError(err)
	}
	return nil
}

// serving says whether p is up and not on its way out.
func serving(p *corev1.Pod) bool { return p.DeletionTimestamp == nil && kube.PodReady(p) }
