package route

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

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
//
// Each router is a type implementing router in its own file, registered
// there (traffic_router.go); the kind dispatches on the attribute alone.
type trafficKind struct{}

func (trafficKind) Name() string { return "traffic" }

// trafficCommonSpec are the attributes every router shares.
func trafficCommonSpec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"router":    &hcldec.AttrSpec{Name: "router", Type: cty.String, Required: true},
		"namespace": &hcldec.AttrSpec{Name: "namespace", Type: cty.String},
		"weight":    &hcldec.AttrSpec{Name: "weight", Type: cty.Number},
		"header": &hcldec.BlockSpec{TypeName: "header", Nested: &hcldec.ObjectSpec{
			"name":  &hcldec.AttrSpec{Name: "name", Type: cty.String, Required: true},
			"value": &hcldec.AttrSpec{Name: "value", Type: cty.String},
		}},
	}
}

// Spec is the shared attributes and those of every registered router: the
// block is decoded before its router is known.
func (trafficKind) Spec() hcldec.Spec {
	out := trafficCommonSpec()
	for _, r := range routerList() {
		for name, spec := range r.Spec() {
			out[name] = spec
		}
	}
	return &out
}

func (trafficKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{
		// previous is the routing before the step: the canary annotations
		// (ingress-nginx) or the rules / http routes (gateway-api, istio).
		"previous":      cty.DynamicPseudoType,
		"previous_json": cty.String,
	})
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
	rt, ok := routerNamed(r.AsString())
	if !ok {
		return append(out, steps.Problem{Path: []string{"router"}, Summary: "Unknown router",
			Detail: unknownRouter(r.AsString()).Error() + "."})
	}
	for _, a := range append([]string{rt.Object()}, rt.Required()...) {
		if v := steps.Attr(cfg, a); v.IsKnown() && v.IsNull() {
			out = append(out, steps.Problem{Path: []string{a}, Summary: "Missing attribute",
				Detail: fmt.Sprintf("router %q needs %s.", rt.Name(), a)})
		}
	}
	return append(out, rt.Check(cfg)...)
}

// noCookie is the check of the routers that match by header only.
func noCookie(router string, cfg cty.Value) []steps.Problem {
	if c := steps.Attr(cfg, "cookie"); c.IsKnown() && !c.IsNull() {
		return []steps.Problem{{Path: []string{"cookie"}, Summary: "Cookie match not supported",
			Detail: fmt.Sprintf("cookie is an ingress-nginx canary feature; with router %q use a header block.", router)}}
	}
	return nil
}

// exactHeader is the check of the routers that match a header by its exact
// value only (ingress-nginx alone has "any value").
func exactHeader(router string, cfg cty.Value) []steps.Problem {
	if h := steps.Attr(cfg, "header"); h.IsKnown() && !h.IsNull() {
		if v := steps.Attr(h, "value"); v.IsKnown() && v.IsNull() {
			return []steps.Problem{{Path: []string{"header", "value"}, Summary: "Missing header value",
				Detail: fmt.Sprintf("router %q matches a header by its exact value; set value.", router)}}
		}
	}
	return nil
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

// trafficSpec is the decoded block: the attributes the routers of the
// package share, and cfg for a router's own.
type trafficSpec struct {
	router, ns, name string
	weight           int64
	header           *header
	cookie           string
	host             string
	stable, canary   string
	subsets          bool
	cfg              cty.Value
	rt               router // the router named by router
}

func trafficSpecOf(cfg cty.Value) (trafficSpec, error) {
	s := trafficSpec{
		router: steps.Str(cfg, "router"), cookie: steps.Str(cfg, "cookie"), host: steps.Str(cfg, "host"),
		stable: steps.Str(cfg, "stable"), canary: steps.Str(cfg, "canary"), subsets: steps.Bool(cfg, "subsets", true),
		cfg: cfg,
	}
	w, err := weightOf(steps.Attr(cfg, "weight"))
	if err != nil {
		return s, err
	}
	s.weight = w
	if h := steps.Attr(cfg, "header"); !h.IsNull() {
		s.header = &header{Name: steps.Str(h, "name"), Value: steps.Str(h, "value")}
	}
	rt, ok := routerNamed(s.router)
	if !ok {
		return s, unknownRouter(s.router)
	}
	s.name = steps.Str(cfg, rt.Object())
	for _, a := range append([]string{rt.Object()}, rt.Required()...) {
		if steps.Str(cfg, a) == "" {
			return s, fmt.Errorf("router %q needs %s", s.router, a)
		}
	}
	s.rt = rt
	return s, nil
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
	prev, err := s.rt.Run(ctx, env, cl, s)
	if err != nil {
		return cty.NilVal, err
	}
	js, _ := json.Marshal(prev)
	return cty.ObjectVal(map[string]cty.Value{"previous": steps.FromGo(prev), "previous_json": cty.StringVal(string(js))}), nil
}

func (trafficKind) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	s, err := trafficSpecOf(cfg)
	if err != nil {
		return "", err
	}
	cl, err := clientsFor(env)
	if err != nil {
		return "", err
	}
	s.ns = namespaceOf(env, steps.Str(cfg, "namespace"), cl)
	return s.rt.Plan(ctx, env, cl, s)
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
	// byKey holds each object's records newest first; want is the newest
	// record's digest, lastAt where the newest record is among own.
	byKey := map[key][]json.RawMessage{}
	want := map[key]string{}
	lastAt := map[kube.Ref]int{}
	var order []key
	for i := len(own) - 1; i >= 0; i-- {
		var h recordHead
		if err := json.Unmarshal(own[i], &h); err != nil {
			return fmt.Errorf("traffic undo: unreadable journal record %d: %w", i, err)
		}
		var ref kube.Ref
		if rt, ok := routerNamed(h.Router); ok {
			if ref, err = rt.Ref(own[i]); err != nil {
				return fmt.Errorf("traffic undo: unreadable journal record %d: %w", i, err)
			}
		}
		k := key{h.Router, h.Namespace, h.Name}
		if _, seen := byKey[k]; !seen {
			order = append(order, k)
			want[k] = h.Want
			lastAt[ref] = i
		}
		byKey[k] = append(byKey[k], own[i])
	}
	last := lastWritten(written, at, func(r kube.Ref) (int, bool) {
		n, ok := lastAt[r]
		return n, ok
	})
	// The stage's target is known when the router, the namespace and the
	// attribute naming every router's object are.
	attrs := []string{"router", "namespace"}
	for _, rt := range routerList() {
		attrs = append(attrs, rt.Object())
	}
	known := env.Configured(attrs...)
	var target key
	if known {
		if s, err := trafficSpecOf(env.Config); err != nil {
			known = false
		} else {
			target = key{s.router, namespaceOf(env, steps.Str(env.Config, "namespace"), cl), s.name}
		}
	}
	var ue undoErrs
	for _, k := range order {
		recs := byKey[k]
		what := fmt.Sprintf("%s %s in namespace %s", k.router, k.name, k.ns)
		if known && k != target {
			ue.refuse(what, fmt.Sprintf("the stage sets the %s routing of %s in namespace %s, not this", target.router, target.name, target.ns))
			continue
		}
		rt, ok := routerNamed(k.router)
		if !ok {
			ue.add(fmt.Errorf("traffic undo: journal record for %q: %w", k.name, unknownRouter(k.router)))
			continue
		}
		// The oldest record decides, so the Written to check is the one
		// for the object it names.
		var w *kube.Written
		if ref, err := rt.Ref(recs[len(recs)-1]); err == nil {
			w = last[ref]
		}
		g := undoGuard{env: env, known: known, written: w, want: want[k]}
		why, err := rt.Undo(ctx, env, cl, recs, g)
		if err != nil {
			ue.add(err)
		} else if why != "" {
			ue.left(env, what, why)
		}
	}
	return ue.err()
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
