package route

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(trafficKind{}) }

// trafficKind sets canary weights and header/cookie matches on a router.
// The block describes the whole canary routing it manages: an attribute left
// out is reset (weight defaults to 0, a header or cookie match not given is
// removed), so a pipeline's steps of weight read like a table and each one
// is independent of the previous.
//
//   - router = "ingress-nginx": the canary Ingress's canary annotations.
//   - router = "gateway-api": the backendRef weights of the HTTPRoute rules
//     that send to stable or canary, plus a header rule to canary only.
//   - router = "istio": the destination weights of the VirtualService http
//     routes that send to stable or canary, plus a header route first.
type trafficKind struct{}

func (trafficKind) Name() string { return "traffic" }

func (trafficKind) Spec() hcldec.Spec {
	return &hcldec.ObjectSpec{
		"router":          &hcldec.AttrSpec{Name: "router", Type: cty.String, Required: true},
		"namespace":       &hcldec.AttrSpec{Name: "namespace", Type: cty.String},
		"weight":          &hcldec.AttrSpec{Name: "weight", Type: cty.Number},
		"cookie":          &hcldec.AttrSpec{Name: "cookie", Type: cty.String},
		"ingress":         &hcldec.AttrSpec{Name: "ingress", Type: cty.String},
		"route":           &hcldec.AttrSpec{Name: "route", Type: cty.String},
		"virtual_service": &hcldec.AttrSpec{Name: "virtual_service", Type: cty.String},
		"host":            &hcldec.AttrSpec{Name: "host", Type: cty.String},
		"stable":          &hcldec.AttrSpec{Name: "stable", Type: cty.String},
		"canary":          &hcldec.AttrSpec{Name: "canary", Type: cty.String},
		"subsets":         &hcldec.AttrSpec{Name: "subsets", Type: cty.Bool},
		"header": &hcldec.BlockSpec{TypeName: "header", Nested: &hcldec.ObjectSpec{
			"name":  &hcldec.AttrSpec{Name: "name", Type: cty.String, Required: true},
			"value": &hcldec.AttrSpec{Name: "value", Type: cty.String},
		}},
	}
}

func (trafficKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{
		// previous is the routing before the step: the canary annotations
		// (ingress-nginx) or the rules / http routes (gateway-api, istio).
		"previous":      cty.DynamicPseudoType,
		"previous_json": cty.String,
	})
}

const (
	routerNginx   = "ingress-nginx"
	routerGateway = "gateway-api"
	routerIstio   = "istio"
)

// required attributes per router.
var routerAttrs = map[string][]string{
	routerNginx:   {"ingress"},
	routerGateway: {"route", "stable", "canary"},
	routerIstio:   {"virtual_service", "stable", "canary"},
}

func (trafficKind) Check(cfg cty.Value) []steps.Problem {
	var out []steps.Problem
	if w := steps.Attr(cfg, "weight"); w.IsKnown() && !w.IsNull() {
		if _, err := weightOf(w); err != nil {
			out = append(out, steps.Problem{Path: []string{"weight"}, Summary: "Invalid weight", Detail: err.Error()})
		}
	}
	r := steps.Attr(cfg, "router")
	if !r.IsKnown() || r.IsNull() {
		return out
	}
	router := r.AsString()
	attrs, ok := routerAttrs[router]
	if !ok {
		return append(out, steps.Problem{Path: []string{"router"}, Summary: "Unknown router",
			Detail: fmt.Sprintf("router %q is not supported; use %q, %q or %q.", router, routerNginx, routerGateway, routerIstio)})
	}
	for _, a := range attrs {
		if v := steps.Attr(cfg, a); v.IsKnown() && v.IsNull() {
			out = append(out, steps.Problem{Path: []string{a}, Summary: "Missing attribute",
				Detail: fmt.Sprintf("router %q needs %s.", router, a)})
		}
	}
	if router == routerIstio && steps.Bool(cfg, "subsets", true) {
		if v := steps.Attr(cfg, "host"); v.IsKnown() && v.IsNull() {
			out = append(out, steps.Problem{Path: []string{"host"}, Summary: "Missing attribute",
				Detail: "With subsets (the default), stable and canary are subsets of host; set host to the destination host of the routes, or subsets = false to name hosts in stable and canary."})
		}
	}
	if c := steps.Attr(cfg, "cookie"); router != routerNginx && c.IsKnown() && !c.IsNull() {
		out = append(out, steps.Problem{Path: []string{"cookie"}, Summary: "Cookie match not supported",
			Detail: fmt.Sprintf("cookie is an ingress-nginx canary feature; with router %q use a header block.", router)})
	}
	if h := steps.Attr(cfg, "header"); router != routerNginx && h.IsKnown() && !h.IsNull() {
		if v := steps.Attr(h, "value"); v.IsKnown() && v.IsNull() {
			out = append(out, steps.Problem{Path: []string{"header", "value"}, Summary: "Missing header value",
				Detail: fmt.Sprintf("router %q matches a header by its exact value; set value.", router)})
		}
	}
	return out
}

// weightOf reads a percentage 0..100.
func weightOf(v cty.Value) (int64, error) {
	if v.IsNull() {
		return 0, nil
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if acc != big.Exact || n < 0 || n > 100 {
		return 0, fmt.Errorf("weight %s is not a whole percentage from 0 to 100", bf.Text('g', -1))
	}
	return n, nil
}

// header is a `header { name, value }` match; value "" means "any value"
// for ingress-nginx (its canary-by-header "always"/"never" convention).
type header struct{ Name, Value string }

// trafficSpec is the decoded block.
type trafficSpec struct {
	router, ns, name string
	weight           int64
	header           *header
	cookie           string
	host             string
	stable, canary   string
	subsets          bool
}

func trafficSpecOf(cfg cty.Value) (trafficSpec, error) {
	s := trafficSpec{
		router: steps.Str(cfg, "router"), cookie: steps.Str(cfg, "cookie"), host: steps.Str(cfg, "host"),
		stable: steps.Str(cfg, "stable"), canary: steps.Str(cfg, "canary"), subsets: steps.Bool(cfg, "subsets", true),
	}
	w, err := weightOf(steps.Attr(cfg, "weight"))
	if err != nil {
		return s, err
	}
	s.weight = w
	if h := steps.Attr(cfg, "header"); !h.IsNull() {
		s.header = &header{Name: steps.Str(h, "name"), Value: steps.Str(h, "value")}
	}
	switch s.router {
	case routerNginx:
		s.name = steps.Str(cfg, "ingress")
	case routerGateway:
		s.name = steps.Str(cfg, "route")
	case routerIstio:
		s.name = steps.Str(cfg, "virtual_service")
	default:
		return s, fmt.Errorf("router %q is not supported; use %q, %q or %q", s.router, routerNginx, routerGateway, routerIstio)
	}
	for _, a := range routerAttrs[s.router] {
		if steps.Str(cfg, a) == "" {
			return s, fmt.Errorf("router %q needs %s", s.router, a)
		}
	}
	return s, nil
}

// trafficRecord journals the routing before a write.
type trafficRecord struct {
	Router    string `json:"router"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Annotations (ingress-nginx): the previous value of every canary
	// annotation the step touched or found; null where it was absent.
	Annotations map[string]*string `json:"annotations,omitempty"`
	// Resource and Rules (gateway-api, istio): where the rules live and
	// what they were.
	Resource *resourceRef `json:"resource,omitempty"`
	Rules    []any        `json:"rules,omitempty"`
	// Want is the digest of the routing the step is about to write, for an
	// undo that lost the note written after it.
	Want string `json:"want,omitempty"`
}

func (trafficKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	s, err := trafficSpecOf(cfg)
	if err != nil {
		return cty.NilVal, err
	}
	cl, err := clientsFor(env)
	if err != nil {
		return cty.NilVal, err
	}
	s.ns = namespaceOf(env, steps.Str(cfg, "namespace"), cl)
	var prev any
	switch s.router {
	case routerNginx:
		prev, err = runNginx(ctx, env, cl, s)
	default:
		prev, err = runRules(ctx, env, cl, s)
	}
	if err != nil {
		return cty.NilVal, err
	}
	js, _ := json.Marshal(prev)
	return cty.ObjectVal(map[string]cty.Value{"previous": steps.FromGo(prev), "previous_json": cty.StringVal(string(js))}), nil
}

// Undo puts the routing of each object back as it was before the first
// attempt (the oldest record of an object decides), unless someone changed
// it since this run set it (named in a *steps.DriftError; --force restores
// anyway). Records must name the stage's router object in its namespace.
func (trafficKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	cl, err := clientsFor(env)
	if err != nil {
		return err
	}
	type key struct{ router, ns, name string }
	own, written, at := splitWritten(records)
	prev := map[key]trafficRecord{}
	want := map[key]string{}
	lastAt := map[kube.Ref]int{}
	var order []key
	for i := len(own) - 1; i >= 0; i-- {
		var rec trafficRecord
		if err := json.Unmarshal(own[i], &rec); err != nil {
			return fmt.Errorf("traffic undo: unreadable journal record %d: %w", i, err)
		}
		k := key{rec.Router, rec.Namespace, rec.Name}
		if old, seen := prev[k]; !seen {
			order = append(order, k)
			want[k] = rec.Want
			lastAt[rec.ref()] = i
		} else if len(old.Annotations) > 0 {
			if rec.Annotations == nil {
				rec.Annotations = map[string]*string{}
			}
			for a, v := range old.Annotations {
				if _, ok := rec.Annotations[a]; !ok {
					rec.Annotations[a] = v
				}
			}
		}
		prev[k] = rec
	}
	last := lastWritten(written, at, func(r kube.Ref) (int, bool) {
		n, ok := lastAt[r]
		return n, ok
	})
	known := configured(env, "router", "ingress", "route", "virtual_service", "namespace")
	var target key
	if known {
		s, err := trafficSpecOf(env.Config)
		if err != nil {
			known = false
		} else {
			target = key{s.router, namespaceOf(env, steps.Str(env.Config, "namespace"), cl), s.name}
		}
	}
	var ue undoErrs
	for _, k := range order {
		rec := prev[k]
		what := fmt.Sprintf("%s %s in namespace %s", k.router, k.name, k.ns)
		if known && k != target {
			ue.refuse(what, fmt.Sprintf("the stage sets the %s routing of %s in namespace %s, not this", target.router, target.name, target.ns))
			continue
		}
		g := undoGuard{env: env, known: known, written: last[rec.ref()], want: want[k]}
		var why string
		if rec.Router == routerNginx {
			why, err = undoNginx(ctx, env, cl, rec, g)
		} else {
			why, err = undoRules(ctx, env, cl, rec, g)
		}
		if err != nil {
			ue.add(err)
		} else if why != "" {
			ue.left(env, what, why)
		}
	}
	return ue.err()
}

// ref is the object a record names, as Written facts name it.
func (r trafficRecord) ref() kube.Ref {
	if r.Router == routerNginx {
		return ingressRef(r.Namespace, r.Name)
	}
	t := ruleTargets[r.Router]
	ref := kube.Ref{Kind: t.kind, Namespace: r.Namespace, Name: r.Name}
	if r.Resource != nil {
		ref.APIVersion = schema.GroupVersion{Group: r.Resource.Group, Version: r.Resource.Version}.String()
		ref.Resource = r.Resource.Resource
	}
	return ref
}

// undoGuard is what an undo of one router object checks before it
// writes: the run's mark when the stage's target is unknown, and whether
// the routing changed since the run set it.
type undoGuard struct {
	env     *steps.Env
	known   bool
	written *kube.Written
	want    string
}

// check returns a *steps.TargetError for an object the undo may not write,
// or why it is left alone ("" to go on). cur is the digest of the routing
// now.
func (g undoGuard) check(what string, uid string, ann map[string]string, cur string) (string, error) {
	if !g.known && !markedBy(g.env, ann) {
		return "", &steps.TargetError{Record: what, Why: fmt.Sprintf("the stage's router object cannot be evaluated, and this one does not carry the %s mark of run %s", kube.AnnotationRun, runOf(g.env))}
	}
	if g.env.Force {
		return "", nil
	}
	w := g.written
	switch {
	case w != nil && w.UID != "" && uid != w.UID:
		return "deleted and re-created since this run set its routing", nil
	case w != nil && cur != w.Digest, w == nil && g.want != "" && cur != g.want:
		return "routing changed since this run set it", nil
	}
	return "", nil
}

// RoutesTraffic: weights and matches decide which version gets the traffic.
func (trafficKind) RoutesTraffic() {}
