package route

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"time"

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

func (trafficKind) Doc() string {
	return "Sets canary weights and a header (or cookie) match on a router: `ingress-nginx` (the canary " +
		"Ingress's annotations), `gateway-api` (the backend weights of an HTTPRoute) or `istio` (the destination " +
		"weights of a VirtualService). The block describes the whole canary routing: an attribute left out is " +
		"reset (weight 0, no header match), so each step stands on its own. The previous routing is journaled, " +
		"and the undo puts it back."
}

func (trafficKind) AttrDocs() map[string]string {
	docs := map[string]string{
		"router":       routerChoice() + "; it says which other attributes apply.",
		"namespace":    "The router object's namespace (default: the pipeline's, or the run's `--namespace`).",
		"weight":       "The canary's share of the traffic, 0 to 100 (default 0).",
		"header":       "Requests with this header go to the canary whatever the weight.",
		"header.name":  "The header's name.",
		"header.value": "The value it must have (ingress-nginx: empty means its `always`/`never` convention).",
		"drain_delay":  drainDoc,
	}
	for name, doc := range routerAttrDocs() {
		docs[name] = doc
	}
	return docs
}

func (trafficKind) Name() string { return "traffic" }

// trafficCommon are the attributes every router shares.
type trafficCommon struct {
	Router    string    `hcl:"router,required"`
	Namespace string    `hcl:"namespace"`
	Weight    cty.Value `hcl:"weight,type=number"`
	Header    *Header   `hcl:"header,block"`
	Drain
}

func newTrafficCommon() trafficCommon { return trafficCommon{Drain: newDrain()} }

// Header is a `header { name, value }` match; value "" means "any value"
// for ingress-nginx (its canary-by-header "always"/"never" convention).
type Header struct {
	Name  string `hcl:"name,required"`
	Value string `hcl:"value"`
}

var trafficCommonSpec = steps.SpecFor[trafficCommon]()

// Spec is the shared attributes and those of every registered router: the
// block is decoded before its router is known, so a router's required
// attributes are optional here and checked once the router is (Check,
// trafficOf).
func (trafficKind) Spec() hcldec.Spec {
	out := hcldec.ObjectSpec{}
	for name, spec := range trafficCommonSpec {
		out[name] = spec
	}
	for _, r := range routerList() {
		for name, spec := range r.Spec() {
			if a, ok := spec.(*hcldec.AttrSpec); ok && a.Required {
				opt := *a
				opt.Required = false
				spec = &opt
			}
			out[name] = spec
		}
	}
	return out
}

// requiredOf are the attributes router rt cannot do without, sorted.
func requiredOf(rt Router) []string {
	var out []string
	for name, spec := range rt.Spec() {
		if a, ok := spec.(*hcldec.AttrSpec); ok && a.Required {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
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
	var c trafficCommon
	u, err := steps.Decode(cfg, &c)
	out := steps.ProblemsOf(err)
	if w := c.Weight; w.IsKnown() && !w.IsNull() {
		if _, err := weightOf(w); err != nil {
			out = append(out, steps.Problem{Path: []string{"weight"}, Summary: "Invalid weight", Detail: err.Error()})
		}
	}
	if u.Has("router") {
		return out
	}
	rt, ok := routerNamed(c.Router)
	if !ok {
		return append(out, steps.Problem{Path: []string{"router"}, Summary: "Unknown router",
			Detail: unknownRouter(c.Router).Error() + "."})
	}
	// The names come from the router's spec: nothing here spells one.
	for _, a := range requiredOf(rt) {
		if v := cfg.GetAttr(a); v.IsKnown() && v.IsNull() {
			out = append(out, steps.Problem{Path: []string{a}, Summary: "Missing attribute",
				Detail: fmt.Sprintf("router %q needs %s.", rt.Name(), a)})
		}
	}
	return append(out, rt.Check(cfg)...)
}

// noCookie is the check of the routers that match by header only.
func noCookie(router string, cfg cty.Value) []steps.Problem {
	// The cookie is ingress-nginx's attribute: its struct names it.
	var a nginxAttrs
	if u, _ := steps.Decode(cfg, &a); !u.Has("cookie") && a.Cookie != "" {
		return []steps.Problem{{Path: []string{"cookie"}, Summary: "Cookie match not supported",
			Detail: fmt.Sprintf("cookie is an ingress-nginx canary feature; with router %q use a header block.", router)}}
	}
	return nil
}

// exactHeader is the check of the routers that match a header by its exact
// value only (ingress-nginx alone has "any value", its empty value; the
// Gateway API refuses an empty one).
func exactHeader(router string, cfg cty.Value) []steps.Problem {
	var c trafficCommon
	if u, _ := steps.Decode(cfg, &c); c.Header != nil && !u.Has("header.value") && c.Header.Value == "" {
		return []steps.Problem{{Path: []string{"header", "value"}, Summary: "Missing header value",
			Detail: fmt.Sprintf("router %q matches a header by its exact value; set value.", router)}}
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

// Traffic is a decoded traffic block, what a Router acts on: the
// attributes every router shares, resolved, and Config, the block itself,
// from which a router decodes its own attributes (steps.Decode into its
// struct).
type Traffic struct {
	Router    string
	Namespace string // resolved (steps.Env.NamespaceFor)
	Name      string // the value of the router's Object attribute
	Weight    int64
	Header    *Header
	Config    cty.Value
	rt        Router        // the router named by Router
	drain     time.Duration // drain_delay
}

func trafficOf(cfg cty.Value) (Traffic, error) {
	c := newTrafficCommon()
	if _, err := steps.Decode(cfg, &c); err != nil {
		return Traffic{}, err
	}
	s := Traffic{Router: c.Router, Namespace: c.Namespace, Header: c.Header, Config: cfg, drain: c.DrainDelay}
	w, err := weightOf(c.Weight)
	if err != nil {
		return s, err
	}
	s.Weight = w
	rt, ok := routerNamed(s.Router)
	if !ok {
		return s, unknownRouter(s.Router)
	}
	for _, a := range requiredOf(rt) {
		if v := cfg.GetAttr(a); v.IsNull() || !v.IsKnown() || v.Type() == cty.String && v.AsString() == "" {
			return s, fmt.Errorf("router %q needs %s", s.Router, a)
		}
	}
	if v := cfg.GetAttr(rt.Object()); v.Type() == cty.String {
		s.Name = v.AsString()
	}
	s.rt = rt
	return s, nil
}

func (trafficKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	s, err := trafficOf(cfg)
	if err != nil {
		return cty.NilVal, err
	}
	cl, err := env.Clients("traffic")
	if err != nil {
		return cty.NilVal, err
	}
	s.Namespace = env.NamespaceFor(s.Namespace, cl)
	prev, err := s.rt.Run(ctx, env, cl, s)
	if err != nil {
		return cty.NilVal, err
	}
	env.TrafficMoved(s.drain)
	js, _ := json.Marshal(prev)
	return cty.ObjectVal(map[string]cty.Value{"previous": steps.FromGo(prev), "previous_json": cty.StringVal(string(js))}), nil
}

func (trafficKind) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	s, err := trafficOf(cfg)
	if err != nil {
		return "", err
	}
	cl, err := env.Clients("traffic")
	if err != nil {
		return "", err
	}
	s.Namespace = env.NamespaceFor(s.Namespace, cl)
	return s.rt.Plan(ctx, env, cl, s)
}

// Undo puts the routing of each object back as it was before the first
// attempt (the oldest record of an object decides), unless someone changed
// it since this run set it (named in a *steps.DriftError; --force restores
// anyway). Records must name the stage's router object in its namespace.
func (trafficKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	cl, err := env.Clients("traffic undo")
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
		var h RecordHead
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
	c := newTrafficCommon()
	known := env.Configured(&c, "router", "namespace")
	for _, rt := range routerList() {
		known = known && env.Config.GetAttr(rt.Object()).IsKnown()
	}
	var target key
	if known {
		if s, err := trafficOf(env.Config); err != nil {
			known = false
		} else {
			target = key{s.Router, env.NamespaceFor(s.Namespace, cl), s.Name}
		}
	}
	var ue steps.UndoErrors
	for _, k := range order {
		recs := byKey[k]
		what := fmt.Sprintf("%s %s in namespace %s", k.router, k.name, k.ns)
		if known && k != target {
			ue.Refuse(what, fmt.Sprintf("the stage sets the %s routing of %s in namespace %s, not this", target.router, target.name, target.ns))
			continue
		}
		rt, ok := routerNamed(k.router)
		if !ok {
			ue.Add(fmt.Errorf("traffic undo: journal record for %q: %w", k.name, unknownRouter(k.router)))
			continue
		}
		// The oldest record decides, so the Written to check is the one
		// for the object it names.
		var w *kube.Written
		if ref, err := rt.Ref(recs[len(recs)-1]); err == nil {
			w = last[ref]
		}
		g := UndoGuard{env: env, known: known, written: w, want: want[k]}
		why, err := rt.Undo(ctx, env, cl, recs, g)
		switch {
		case err != nil:
			ue.Add(err)
		case why != "":
			ue.Left(env, what, why)
		default:
			env.TrafficMoved(c.DrainDelay)
		}
	}
	return ue.Err()
}

// UndoGuard is what an undo of one router object checks before it
// writes: the run's mark when the stage's target is unknown, and whether
// the routing changed since the run set it.
type UndoGuard struct {
	env     *steps.Env
	known   bool
	written *kube.Written
	want    string
}

// Check returns a *steps.TargetError for an object the undo may not write,
// or why it is left alone ("" to go on). what names the object for
// messages; uid and ann are the live object's; cur is the digest of its
// routing now, computed as the router computed RecordHead.Want.
func (g UndoGuard) Check(what string, uid string, ann map[string]string, cur string) (string, error) {
	if !g.known && !steps.MarkedBy(g.env, ann) {
		return "", steps.Unmarked(g.env, what, "the stage's router object cannot be evaluated")
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
