package route

import (
	"context"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// labelTarget is one set of labels the step changes: a workload's pod
// template or an object's own labels.
type labelTarget struct {
	kind, name, uid string
	template        bool // spec.template.metadata.labels
	chosen          bool // named by the step (not a ReplicaSet's pod)
	labels          map[string]string
	owner           kube.Ref // a pod's workload (resource and name), when it has one
}

type labeler struct {
	cl   *kube.Clients
	env  *steps.Env
	ns   string
	kind string
	ch   labelChange
}

// find resolves name or selector to the objects to label, checking before
// any write that the change is safe for each of them.
func (l *labeler) find(ctx context.Context, name string, sel map[string]string) ([]labelTarget, error) {
	list := metav1.ListOptions{LabelSelector: formatSelector(sel)}
	what := fmt.Sprintf("matching selector %s", formatLabels(sel))
	var out []labelTarget
	switch l.kind {
	case "Pod":
		pods, err := getOrList(ctx, name, list,
			func(n string) (*corev1.Pod, error) {
				return l.cl.Typed.CoreV1().Pods(l.ns).Get(ctx, n, metav1.GetOptions{})
			},
			func(o metav1.ListOptions) ([]corev1.Pod, error) {
				r, err := l.cl.Typed.CoreV1().Pods(l.ns).List(ctx, o)
				if err != nil {
					return nil, err
				}
				return r.Items, nil
			})
		if err != nil {
			return nil, l.findErr(ctx, err, name, what)
		}
		for _, p := range pods {
			out = append(out, labelTarget{kind: "Pod", name: p.Name, uid: string(p.UID), chosen: true, labels: p.Labels, owner: podOwner(&p)})
		}
	case "ReplicaSet":
		rss, err := getOrList(ctx, name, list,
			func(n string) (*appsv1.ReplicaSet, error) {
				return l.cl.Typed.AppsV1().ReplicaSets(l.ns).Get(ctx, n, metav1.GetOptions{})
			},
			func(o metav1.ListOptions) ([]appsv1.ReplicaSet, error) {
				r, err := l.cl.Typed.AppsV1().ReplicaSets(l.ns).List(ctx, o)
				if err != nil {
					return nil, err
				}
				return r.Items, nil
			})
		if err != nil {
			return nil, l.findErr(ctx, err, name, what)
		}
		var pods []labelTarget
		for _, rs := range rss {
			if c := metav1.GetControllerOf(&rs); c != nil && c.Kind == "Deployment" {
				return nil, fmt.Errorf("replicaset %q in namespace %q is controlled by deployment %q: changing its pod template would make the deployment roll out a new ReplicaSet; label kind = \"Deployment\" instead, or kind = \"Pod\" with a selector to relabel the pods only", rs.Name, l.ns, c.Name)
			}
			if err := guardSelector("replicaset", rs.Name, l.ns, rs.Spec.Selector, l.ch); err != nil {
				return nil, err
			}
			out = append(out, labelTarget{kind: "ReplicaSet", name: rs.Name, uid: string(rs.UID), template: true, chosen: true, labels: rs.Spec.Template.Labels})
			owned, err := l.ownedPods(ctx, rs.Name, string(rs.UID))
			if err != nil {
				return nil, err
			}
			for _, p := range owned {
				pods = append(pods, labelTarget{kind: "Pod", name: p.Name, uid: string(p.UID), labels: p.Labels})
			}
		}
		out = append(out, pods...)
	case "Deployment":
		ds, err := getOrList(ctx, name, list,
			func(n string) (*appsv1.Deployment, error) {
				return l.cl.Typed.AppsV1().Deployments(l.ns).Get(ctx, n, metav1.GetOptions{})
			},
			func(o metav1.ListOptions) ([]appsv1.Deployment, error) {
				r, err := l.cl.Typed.AppsV1().Deployments(l.ns).List(ctx, o)
				if err != nil {
					return nil, err
				}
				return r.Items, nil
			})
		if err != nil {
			return nil, l.findErr(ctx, err, name, what)
		}
		for _, d := range ds {
			if err := guardSelector("deployment", d.Name, l.ns, d.Spec.Selector, l.ch); err != nil {
				return nil, err
			}
			out = append(out, labelTarget{kind: "Deployment", name: d.Name, uid: string(d.UID), template: true, chosen: true, labels: d.Spec.Template.Labels})
		}
	case "StatefulSet":
		ss, err := getOrList(ctx, name, list,
			func(n string) (*appsv1.StatefulSet, error) {
				return l.cl.Typed.AppsV1().StatefulSets(l.ns).Get(ctx, n, metav1.GetOptions{})
			},
			func(o metav1.ListOptions) ([]appsv1.StatefulSet, error) {
				r, err := l.cl.Typed.AppsV1().StatefulSets(l.ns).List(ctx, o)
				if err != nil {
					return nil, err
				}
				return r.Items, nil
			})
		if err != nil {
			return nil, l.findErr(ctx, err, name, what)
		}
		for _, s := range ss {
			if err := guardSelector("statefulset", s.Name, l.ns, s.Spec.Selector, l.ch); err != nil {
				return nil, err
			}
			out = append(out, labelTarget{kind: "StatefulSet", name: s.Name, uid: string(s.UID), template: true, chosen: true, labels: s.Spec.Template.Labels})
		}
	default:
		return nil, fmt.Errorf("label: kind %q is not supported", l.kind)
	}
	return out, nil
}

// errNone says a selector chose nothing.
type errNone struct{}

func (errNone) Error() string { return "none" }

// errMissing is find's error when nothing is there to label: the named
// object is not found, or the selector chose none.
type errMissing struct{ msg string }

func (e errMissing) Error() string { return e.msg }

func (l *labeler) findErr(ctx context.Context, err error, name, what string) error {
	kind := strings.ToLower(l.kind)
	switch {
	case notFound(err):
		return errMissing{fmt.Sprintf("%s %q not found in namespace %q", kind, name, l.ns)}
	case err == (errNone{}):
		return errMissing{fmt.Sprintf("no %s in namespace %q is %s; nothing was labelled", kind, l.ns, what)}
	}
	return apiErr(err, "reading the %s to label in namespace %q", kind, l.ns)
}

// podOwner is the workload whose pods p is: its controller, or the
// Deployment of its ReplicaSet (named after it, with the pod template's
// hash, which the pod carries as a label).
func podOwner(p *corev1.Pod) kube.Ref {
	c := metav1.GetControllerOfNoCopy(p)
	if c == nil {
		return kube.Ref{}
	}
	if h := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; c.Kind == "ReplicaSet" && h != "" && strings.HasSuffix(c.Name, "-"+h) {
		return kube.Ref{APIVersion: "apps/v1", Resource: "deployments", Namespace: p.Namespace, Name: strings.TrimSuffix(c.Name, "-"+h)}
	}
	return kube.Ref{APIVersion: c.APIVersion, Resource: strings.ToLower(c.Kind) + "s", Namespace: p.Namespace, Name: c.Name}
}

// getOrList returns the named object, or every object the list options
// select, sorted by name; errNone when a selector selects nothing.
func getOrList[T any, P interface {
	*T
	metav1.Object
}](ctx context.Context, name string, o metav1.ListOptions, get func(string) (P, error), list func(metav1.ListOptions) ([]T, error)) ([]T, error) {
	if name != "" {
		x, err := get(name)
		if err != nil {
			return nil, err
		}
		return []T{*x}, nil
	}
	items, err := list(o)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, errNone{}
	}
	sort.Slice(items, func(i, j int) bool { return P(&items[i]).GetName() < P(&items[j]).GetName() })
	return items, nil
}

// guardSelector refuses to remove or change a label the workload's selector
// relies on: its template would no longer match its selector.
func guardSelector(kind, name, ns string, sel *metav1.LabelSelector, ch labelChange) error {
	if sel == nil {
		return nil
	}
	used := map[string]bool{}
	for _, e := range sel.MatchExpressions {
		used[e.Key] = true
	}
	for _, k := range ch.del {
		if _, ok := sel.MatchLabels[k]; ok || used[k] {
			return fmt.Errorf("%s %q in namespace %q selects its pods by label %q, so the step cannot remove it (its pods would be orphaned and replaced); label another key", kind, name, ns, k)
		}
	}
	for k, v := range ch.set {
		if mv, ok := sel.MatchLabels[k]; (ok && mv != v) || used[k] {
			return fmt.Errorf("%s %q in namespace %q selects its pods by label %s=%s, so the step cannot set it to %q; label another key", kind, name, ns, k, mv, v)
		}
	}
	return nil
}

// ownedPods are the pods whose controller is the ReplicaSet (by UID when
// known, so a re-created ReplicaSet of the same name does not count).
func (l *labeler) ownedPods(ctx context.Context, rsName, uid string) ([]corev1.Pod, error) {
	rs, err := l.cl.Typed.AppsV1().ReplicaSets(l.ns).Get(ctx, rsName, metav1.GetOptions{})
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, apiErr(err, "reading replicaset %q in namespace %q", rsName, l.ns)
	}
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("replicaset %q in namespace %q has an invalid selector: %w", rsName, l.ns, err)
	}
	pods, err := l.cl.Typed.CoreV1().Pods(l.ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, apiErr(err, "listing the pods of replicaset %q in namespace %q", rsName, l.ns)
	}
	if uid == "" {
		uid = string(rs.UID)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if c := metav1.GetControllerOf(&p); c != nil && string(c.UID) == uid && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// labelState is one labelled object as read or as a patch left it: the
// labels the step changes (its pod template's for a workload), and what an
// undo checks before it writes.
type labelState struct {
	labels, annotations map[string]string
	uid, rv, controller string
}

func stateOf(o metav1.Object, tmpl map[string]string, template bool) labelState {
	st := labelState{labels: o.GetLabels(), annotations: o.GetAnnotations(), uid: string(o.GetUID()), rv: o.GetResourceVersion()}
	if template {
		st.labels = tmpl
	}
	if c := metav1.GetControllerOfNoCopy(o); c != nil {
		st.controller = c.Name
	}
	return st
}

// patch applies a merge patch to one object's labels and returns the
// object as the server stored it.
func (l *labeler) patch(ctx context.Context, kind, name string, template bool, body []byte) (labelState, error) {
	st, err := l.do(ctx, kind, name, template, body)
	if notFound(err) {
		return st, fmt.Errorf("%s %q not found in namespace %q: %w", strings.ToLower(kind), name, l.ns, err)
	}
	return st, apiErr(err, "labelling %s %q in namespace %q", strings.ToLower(kind), name, l.ns)
}

// patchOnly is patch without the result.
func (l *labeler) patchOnly(ctx context.Context, kind, name string, body []byte) error {
	_, err := l.patch(ctx, kind, name, false, body)
	return err
}

// read returns one object's state; errors are the API's, unwrapped, so a
// caller can tell a conflict or a missing object.
func (l *labeler) read(ctx context.Context, kind, name string, template bool) (labelState, error) {
	return l.do(ctx, kind, name, template, nil)
}

// do reads (body nil) or merge-patches one object of a kind the step handles.
func (l *labeler) do(ctx context.Context, kind, name string, template bool, body []byte) (labelState, error) {
	po := patchOpts(l.env)
	get := metav1.GetOptions{}
	switch kind {
	case "Pod":
		x, err := getOrPatch(ctx, l.cl.Typed.CoreV1().Pods(l.ns), name, body, get, po)
		if err != nil {
			return labelState{}, err
		}
		return stateOf(x, nil, false), nil
	case "ReplicaSet":
		x, err := getOrPatch(ctx, l.cl.Typed.AppsV1().ReplicaSets(l.ns), name, body, get, po)
		if err != nil {
			return labelState{}, err
		}
		return stateOf(x, x.Spec.Template.Labels, template), nil
	case "Deployment":
		x, err := getOrPatch(ctx, l.cl.Typed.AppsV1().Deployments(l.ns), name, body, get, po)
		if err != nil {
			return labelState{}, err
		}
		return stateOf(x, x.Spec.Template.Labels, template), nil
	case "StatefulSet":
		x, err := getOrPatch(ctx, l.cl.Typed.AppsV1().StatefulSets(l.ns), name, body, get, po)
		if err != nil {
			return labelState{}, err
		}
		return stateOf(x, x.Spec.Template.Labels, template), nil
	}
	return labelState{}, fmt.Errorf("label: kind %q is not supported", kind)
}

// getOrPatch reads an object (body nil) or merge-patches it, for any typed
// client: every kind label handles is one call.
func getOrPatch[T any](ctx context.Context, c interface {
	Get(context.Context, string, metav1.GetOptions) (T, error)
	Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (T, error)
}, name string, body []byte, get metav1.GetOptions, po metav1.PatchOptions) (T, error) {
	if body == nil {
		return c.Get(ctx, name, get)
	}
	return c.Patch(ctx, name, types.MergePatchType, body, po)
}
