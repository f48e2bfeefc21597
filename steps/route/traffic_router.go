package route

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// Router is one traffic router of the traffic kind: everything that depends
// on the value of the block's `router` attribute. The kind decodes the
// block, journals through the router and applies the shared undo rules
// (newest record first, the oldest record of an object decides, the stage's
// target and the drift guard); the router only reads and writes its own
// object.
//
// A router lives in one file, traffic_<router>.go here or any package that
// imports this one, and calls RegisterRouter in its init; nothing else
// names it (docs/design.md, "A traffic router").
type Router interface {
	// Name is the value of the block's router attribute.
	Name() string
	// Spec declares the attributes the router reads besides the ones every
	// router shares (router, namespace, weight, header): derive it from the
	// router's struct with steps.SpecFor, and read them in Run, Plan and
	// Check with steps.Decode of Traffic.Config. An attribute marked
	// required is required when this router is chosen (it is optional in
	// the block, which every router shares). Two routers may declare the
	// same attribute only with the same spec.
	Spec() hcldec.ObjectSpec
	// Object is the required attribute that names the object the router
	// writes; it identifies the stage's target on undo.
	Object() string
	// Check returns load-time problems beyond missing attributes, for a
	// block whose router is this one. Values not known at load time are
	// unknown and must be skipped.
	Check(cfg cty.Value) []steps.Problem
	// Permissions are the API rules Run and Undo need (`cutover rbac`).
	Permissions() []steps.Permission
	// AttrDocs describes each attribute Spec declares, one sentence each,
	// for the traffic kind's reference page (TestReference requires one
	// per attribute). The page prefixes each with the routers that read it.
	AttrDocs() map[string]string

	// Run journals the routing it is about to change (env.Record of a
	// record embedding RecordHead, before any write), writes the split s
	// describes, notes the result (env.Remember of a kube.Written naming
	// the object as Ref does) and returns the routing before, the step's
	// `previous` output. s.Namespace is resolved.
	Run(ctx context.Context, env *steps.Env, cl *kube.Clients, s Traffic) (previous any, err error)
	// Plan says what Run would change, without writing.
	Plan(ctx context.Context, env *steps.Env, cl *kube.Clients, s Traffic) (string, error)
	// Ref is the object a record of the router names, as the Written
	// facts noted after its writes name it.
	Ref(rec json.RawMessage) (kube.Ref, error)
	// Undo puts one object's routing back from its records, newest first
	// (several when several attempts wrote). Before writing it calls
	// g.Check with the live object: a TargetError refuses the write, a
	// reason leaves the object as is (returned as why); "" when it was
	// restored or needed nothing.
	Undo(ctx context.Context, env *steps.Env, cl *kube.Clients, recs []json.RawMessage, g UndoGuard) (why string, err error)
}

var (
	routersMu sync.RWMutex
	routers   = map[string]Router{}
)

// RegisterRouter adds r to the traffic kind, from an init function. A name
// taken twice, a shared attribute redeclared, an attribute declared twice
// with different specs, or an Object that is not a required attribute of
// the router's spec is a programming error and panics.
func RegisterRouter(r Router) {
	routersMu.Lock()
	defer routersMu.Unlock()
	if _, dup := routers[r.Name()]; dup {
		panic(fmt.Sprintf("route: traffic router %q registered twice", r.Name()))
	}
	if a, ok := r.Spec()[r.Object()].(*hcldec.AttrSpec); !ok || !a.Required {
		panic(fmt.Sprintf("route: traffic router %q: its object attribute %q must be a required attribute of its spec", r.Name(), r.Object()))
	}
	for name, spec := range r.Spec() {
		if _, common := trafficCommonSpec[name]; common {
			panic(fmt.Sprintf("route: traffic router %q declares the shared attribute %q", r.Name(), name))
		}
		for _, o := range routers {
			if os, ok := o.Spec()[name]; ok && !reflect.DeepEqual(os, spec) {
				panic(fmt.Sprintf("route: traffic routers %q and %q declare attribute %q differently", o.Name(), r.Name(), name))
			}
		}
	}
	routers[r.Name()] = r
}

// routerNamed returns the registered router called name.
func routerNamed(name string) (Router, bool) {
	routersMu.RLock()
	defer routersMu.RUnlock()
	r, ok := routers[name]
	return r, ok
}

// routerList is every registered router, by name.
func routerList() []Router {
	routersMu.RLock()
	defer routersMu.RUnlock()
	out := make([]Router, 0, len(routers))
	for _, r := range routers {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// routerNames lists the registered routers for a message: "a", "b" or "c".
func routerNames() string { return listRouters(strconv.Quote) }

// routerChoice lists them for the router attribute's description: `a`,
// `b` or `c`.
func routerChoice() string {
	return listRouters(func(n string) string { return "`" + n + "`" })
}

func listRouters(quote func(string) string) string {
	rs := routerList()
	q := make([]string, len(rs))
	for i, r := range rs {
		q[i] = quote(r.Name())
	}
	return words.Or(q)
}

// unknownRouter is the error for a router no file registered.
func unknownRouter(name string) error {
	return fmt.Errorf("router %q is not supported; use %s", name, routerNames())
}

// RecordHead is the part of every traffic record the kind reads: which
// router wrote it, for which object, and the digest of what it was about to
// write. A router's record embeds it, so the JSON stays flat (as journals
// written before routers had their own record types). Want is the digest
// (kube.Digest) of the routing as the router's Undo computes it for
// UndoGuard.Check.
type RecordHead struct {
	Router    string `json:"router"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Want is the digest of the routing the step is about to write, for an
	// undo that lost the note written after it.
	Want string `json:"want,omitempty"`
}

// routerAttrDocs merges the routers' attribute descriptions: each is
// prefixed with the routers that read the attribute, routers saying the
// same thing about it sharing one sentence ("gateway-api, istio: …").
func routerAttrDocs() map[string]string {
	type said struct {
		doc     string
		routers []string
	}
	byAttr := map[string][]*said{}
	for _, r := range routerList() {
		for name, doc := range r.AttrDocs() {
			var s *said
			for _, o := range byAttr[name] {
				if o.doc == doc {
					s = o
				}
			}
			if s == nil {
				s = &said{doc: doc}
				byAttr[name] = append(byAttr[name], s)
			}
			s.routers = append(s.routers, r.Name())
		}
	}
	out := make(map[string]string, len(byAttr))
	for name, ss := range byAttr {
		parts := make([]string, len(ss))
		for i, s := range ss {
			parts[i] = strings.Join(s.routers, ", ") + ": " + s.doc
		}
		out[name] = strings.Join(parts, " ")
	}
	return out
}
