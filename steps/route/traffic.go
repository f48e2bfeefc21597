package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

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
// attempt: the oldest record of an object decides.
func (trafficKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	cl, err := clientsFor(env)
	if err != nil {
		return err
	}
	type key struct{ router, ns, name string }
	prev := map[key]trafficRecord{}
	var order []key
	for i := len(records) - 1; i >= 0; i-- {
		var rec trafficRecord
		if err := json.Unmarshal(records[i], &rec); err != nil {
			return fmt.Errorf("traffic undo: unreadable journal record %d: %w", i, err)
		}
		k := key{rec.Router, rec.Namespace, rec.Name}
		if old, seen := prev[k]; !seen {
			order = append(order, k)
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
	var errs []error
	for _, k := range order {
		rec := prev[k]
		if rec.Router == routerNginx {
			err = undoNginx(ctx, env, cl, rec)
		} else {
			err = undoRules(ctx, env, cl, rec)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
