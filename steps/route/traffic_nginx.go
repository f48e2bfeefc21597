package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func init() { RegisterRouter(nginxRouter{}) }

// nginxRouter sets the canary annotations of ingress-nginx on the canary
// Ingress (the one next to the main Ingress, same host and path, pointing
// at the canary Service).
type nginxRouter struct{}

// routerNginx is the router's name.
const routerNginx = "ingress-nginx"

func (nginxRouter) Name() string { return routerNginx }

func (nginxRouter) AttrDocs() map[string]string {
	return map[string]string{
		"ingress": "the canary Ingress (the one with the canary annotations).",
		"cookie":  "a cookie that sends a request to the canary when set to `always`.",
	}
}

// nginxAttrs are the router's own attributes.
type nginxAttrs struct {
	Ingress string `hcl:"ingress,required"`
	Cookie  string `hcl:"cookie"`
}

var nginxSpec = steps.SpecFor[nginxAttrs]()

func (nginxRouter) Spec() hcldec.ObjectSpec { return nginxSpec }

func (nginxRouter) Object() string { return "ingress" }

// cookie is the block's cookie ("" when none).
func (nginxRouter) cookie(s Traffic) string {
	var a nginxAttrs
	steps.Decode(s.Config, &a)
	return a.Cookie
}

// Check: ingress-nginx takes a cookie, and a header without a value
// (canary-by-header's "always"/"never").
func (nginxRouter) Check(cty.Value) []steps.Problem { return nil }

func (nginxRouter) Permissions() []steps.Permission {
	return []steps.Permission{rule("networking.k8s.io", "ingresses",
		"set the ingress-nginx canary annotations; undo sets them back", "get", "patch")}
}

// nginxRecord journals the canary annotations before a write.
type nginxRecord struct {
	RecordHead
	// Annotations: the previous value of every canary annotation the step
	// touched or found; null where it was absent.
	Annotations map[string]*string `json:"annotations,omitempty"`
}

func (nginxRouter) Ref(raw json.RawMessage) (kube.Ref, error) {
	var rec nginxRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return kube.Ref{}, err
	}
	return ingressRef(rec.Namespace, rec.Name), nil
}

const nginxCanary = "nginx.ingress.kubernetes.io/canary"

// nginxManaged are the canary annotations the step owns: it sets or removes
// each of them on every run. Others (such as canary-by-header-pattern set by
// hand) are left alone unless a header match replaces them.
var nginxManaged = []string{
	nginxCanary,
	nginxCanary + "-weight",
	nginxCanary + "-weight-total",
	nginxCanary + "-by-header",
	nginxCanary + "-by-header-value",
	nginxCanary + "-by-header-pattern",
	nginxCanary + "-by-cookie",
}

// nginxAnnotations is the desired state of the managed annotations: a value
// to set, or nil to remove. weight is a percentage, so canary-weight-total
// is removed (it defaults to 100).
func nginxAnnotations(weight int64, h *Header, cookie string) map[string]*string {
	str := func(s string) *string { return &s }
	out := map[string]*string{}
	for _, k := range nginxManaged {
		out[k] = nil
	}
	out[nginxCanary] = str("true")
	out[nginxCanary+"-weight"] = str(strconv.FormatInt(weight, 10))
	if h != nil {
		out[nginxCanary+"-by-header"] = str(h.Name)
		if h.Value != "" {
			out[nginxCanary+"-by-header-value"] = str(h.Value)
		}
	}
	if cookie != "" {
		out[nginxCanary+"-by-cookie"] = str(cookie)
	}
	return out
}

// canaryAnnotations are the canary annotations an Ingress has now.
func canaryAnnotations(ann map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range ann {
		if strings.HasPrefix(k, nginxCanary) {
			out[k] = v
		}
	}
	return out
}

// annotationsPatch is the merge patch setting (or, for nil, removing) the
// annotations; with rv, only if the object is still at that
// resourceVersion.
func annotationsPatch(set map[string]*string, rv string) []byte {
	m := make(map[string]any, len(set))
	for k, v := range set {
		if v == nil {
			m[k] = nil
		} else {
			m[k] = *v
		}
	}
	md := map[string]any{"annotations": m}
	if rv != "" {
		md["resourceVersion"] = rv
	}
	b, _ := json.Marshal(map[string]any{"metadata": md})
	return b
}

// setOnly is the annotations a desired state leaves set.
func setOnly(want map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range want {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// nginxDigest covers what the step owns on the canary Ingress: the managed
// canary annotations.
func nginxDigest(ann map[string]string) string {
	m := map[string]string{}
	for _, k := range nginxManaged {
		if v, ok := ann[k]; ok {
			m[k] = v
		}
	}
	return stringsDigest(m)
}

func (n nginxRouter) Run(ctx context.Context, env *steps.Env, cl *kube.Clients, s Traffic) (any, error) {
	ings := cl.Typed.NetworkingV1().Ingresses(s.Namespace)
	ing, err := ings.Get(ctx, s.Name, metav1.GetOptions{})
	if notFound(err) {
		return nil, fmt.Errorf("canary ingress %q not found in namespace %q; create it (for example in a deploy stage) with the same host and path as the main Ingress, pointing at the canary Service", s.Name, s.Namespace)
	}
	if err != nil {
		return nil, apiErr(err, "reading ingress %q in namespace %q", s.Name, s.Namespace)
	}
	before := canaryAnnotations(ing.Annotations)
	want := nginxAnnotations(s.Weight, s.Header, n.cookie(s))
	rec := nginxRecord{RecordHead: RecordHead{Router: s.Router, Namespace: s.Namespace, Name: s.Name}, Annotations: map[string]*string{}}
	for k := range want {
		rec.Annotations[k] = nil
	}
	for k, v := range before {
		rec.Annotations[k] = &v
	}
	mark := steps.ShouldMark(env, ing.Annotations)
	if mark {
		// The run's mark is one more annotation the step sets, so the
		// undo removes it with the others.
		rec.Annotations[kube.AnnotationRun] = nil
	}
	rec.Want = nginxDigest(setOnly(want))
	if !env.DryRun {
		if err := env.Record(rec); err != nil {
			return nil, fmt.Errorf("journaling the canary annotations of ingress %q before changing them: %w", s.Name, err)
		}
	}
	patch := want
	if mark {
		patch = maps.Clone(want)
		patch[kube.AnnotationRun] = &env.RunID
	}
	out, err := ings.Patch(ctx, s.Name, types.MergePatchType, annotationsPatch(patch, ""), patchOpts(env))
	if err != nil {
		return nil, apiErr(err, "setting the canary annotations of ingress %q in namespace %q", s.Name, s.Namespace)
	}
	if !env.DryRun {
		env.Remember(kube.Written{Wrote: ingressRef(s.Namespace, s.Name), UID: string(out.UID), Digest: nginxDigest(out.Annotations)})
	}
	env.Report(fmt.Sprintf("ingress %s: canary weight %d%%%s", s.Name, s.Weight, describeMatches(s, n.cookie(s))))
	return before, nil
}

func describeMatches(s Traffic, cookie string) string {
	var parts []string
	if s.Header != nil {
		parts = append(parts, fmt.Sprintf("header %s=%s", s.Header.Name, s.Header.Value))
	}
	if cookie != "" {
		parts = append(parts, "cookie "+cookie)
	}
	if len(parts) == 0 {
		return ""
	}
	sort.Strings(parts)
	return ", " + strings.Join(parts, ", ")
}

func (n nginxRouter) Plan(ctx context.Context, env *steps.Env, cl *kube.Clients, s Traffic) (string, error) {
	r := kube.Ref{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Resource: "ingresses", Namespace: s.Namespace, Name: s.Name}
	ing := &networkingv1.Ingress{}
	found, after, err := planned(env, r, "canary ingress", ing, func() (*networkingv1.Ingress, error) {
		return cl.Typed.NetworkingV1().Ingresses(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	})
	if err != nil {
		return "", err
	}
	if !found {
		return fmt.Sprintf("ingress/%s: annotations (known after %s)\n", s.Name, strings.Join(after, ", ")), nil
	}
	want := nginxAnnotations(s.Weight, s.Header, n.cookie(s))
	before := ing.Annotations
	next := map[string]string{}
	for k, v := range before {
		next[k] = v
	}
	for k, v := range want {
		if v == nil {
			delete(next, k)
		} else {
			next[k] = *v
		}
	}
	ing.Annotations = next
	leave(env, r, ing)
	return annotationsDiff("ingress/"+s.Name, before, want), nil
}

// Undo puts back the recorded annotations, unless the guard says to leave
// the Ingress alone (why). The oldest record decides each annotation; one
// only a later attempt touched (a header match added then) comes from the
// oldest record that has it. The patch carries the resourceVersion read.
func (nginxRouter) Undo(ctx context.Context, env *steps.Env, cl *kube.Clients, recs []json.RawMessage, g UndoGuard) (why string, err error) {
	var rec nginxRecord
	for i, raw := range recs {
		var r nginxRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return "", fmt.Errorf("traffic undo: unreadable journal record: %w", err)
		}
		if i > 0 && len(rec.Annotations) > 0 {
			if r.Annotations == nil {
				r.Annotations = map[string]*string{}
			}
			for a, v := range rec.Annotations {
				if _, ok := r.Annotations[a]; !ok {
					r.Annotations[a] = v
				}
			}
		}
		rec = r
	}
	ings := cl.Typed.NetworkingV1().Ingresses(rec.Namespace)
	what := fmt.Sprintf("ingress/%s in namespace %s", rec.Name, rec.Namespace)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		why = ""
		ing, err := ings.Get(ctx, rec.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		as := true
		for k, v := range rec.Annotations {
			cur, ok := ing.Annotations[k]
			if ok != (v != nil) || (ok && cur != *v) {
				as = false
			}
		}
		if as {
			env.Report(what + " already has its previous canary annotations")
			return nil
		}
		if why, err = g.Check(what, string(ing.UID), ing.Annotations, nginxDigest(ing.Annotations)); why != "" || err != nil {
			return err
		}
		if _, err = ings.Patch(ctx, rec.Name, types.MergePatchType, annotationsPatch(rec.Annotations, ing.ResourceVersion), patchOpts(env)); err != nil {
			return err
		}
		env.Report(what + ": canary annotations put back as before the run")
		return nil
	})
	var te *steps.TargetError
	switch {
	case errors.As(err, &te):
		return "", err
	case notFound(err):
		return "", fmt.Errorf("cannot restore the canary annotations of ingress %q in namespace %q: the ingress no longer exists", rec.Name, rec.Namespace)
	}
	return why, apiErr(err, "restoring the canary annotations of ingress %q in namespace %q", rec.Name, rec.Namespace)
}
