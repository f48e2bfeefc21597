package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(switchBackend{}) }

// switchBackend points the backends of an Ingress (networking.k8s.io/v1) at
// another Service: blue/green by Ingress. Without host/path it switches
// every rule path and the defaultBackend that point at `from` (or at any
// Service when from is unset); host and path narrow it to those rules, and
// then the defaultBackend (which has neither) is left alone.
type switchBackend struct{}

func (switchBackend) Name() string { return "switch_backend" }

func (switchBackend) Doc() string {
	return "Blue/green by Ingress: points the backends of an Ingress at another Service. Without `host` and " +
		"`path` it switches every rule path and the default backend that point at `from` (or at any Service when " +
		"`from` is not given); `host` and `path` narrow it to those rules. The previous backends are journaled, " +
		"and the undo puts them back."
}

func (switchBackend) AttrDocs() map[string]string {
	return map[string]string{
		"ingress":     "The Ingress to change (networking.k8s.io/v1).",
		"service":     "The Service the backends point at afterwards.",
		"port":        "The Service port: a number or a port name (default: the port the backend has).",
		"host":        "Only the rules of this host.",
		"path":        "Only the rule paths equal to this path.",
		"from":        "Only the backends that point at this Service now.",
		"namespace":   "The Ingress's namespace (default: the pipeline's, or the run's `--namespace`).",
		"drain_delay": drainDoc,
	}
}

// backendConfig is the switch_backend block; port is a number or a name.
type backendConfig struct {
	Ingress   string    `hcl:"ingress,required"`
	Service   string    `hcl:"service,required"`
	Port      cty.Value `hcl:"port"`
	Host      string    `hcl:"host"`
	Path      string    `hcl:"path"`
	From      string    `hcl:"from"`
	Namespace string    `hcl:"namespace"`
	Drain
}

func newBackendConfig() backendConfig { return backendConfig{Drain: newDrain()} }

var backendSpec = steps.SpecFor[backendConfig]()

func (switchBackend) Spec() hcldec.Spec { return backendSpec }

var backendType = cty.Object(map[string]cty.Type{
	"host": cty.String, "path": cty.String, "service": cty.String, "port": cty.String,
})

func (switchBackend) Output() cty.Type {
	return cty.Object(map[string]cty.Type{
		"previous":          cty.String,
		"previous_backends": cty.List(backendType),
	})
}

func (switchBackend) Check(cfg cty.Value) []steps.Problem {
	c := newBackendConfig()
	_, err := steps.Decode(cfg, &c)
	out := steps.ProblemsOf(err)
	if p := c.Port; p.IsKnown() && !p.IsNull() {
		if _, err := portOf(p); err != nil {
			out = append(out, steps.Problem{Path: []string{"port"}, Summary: "Invalid port", Detail: err.Error()})
		}
	}
	return out
}

// portOf reads `port`: a number is a port number, a string a port name (or a
// number written as a string).
func portOf(v cty.Value) (*networkingv1.ServiceBackendPort, error) {
	if v.IsNull() {
		return nil, nil
	}
	switch v.Type() {
	case cty.Number:
		bf := v.AsBigFloat()
		n, acc := bf.Int64()
		if acc != big.Exact || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %s is not a port number (1-65535)", bf.String())
		}
		return &networkingv1.ServiceBackendPort{Number: int32(n)}, nil
	case cty.String:
		s := v.AsString()
		if n, err := strconv.Atoi(s); err == nil {
			return portOf(cty.NumberIntVal(int64(n)))
		}
		if s == "" {
			return nil, errors.New("port is empty; give a number such as 8080 or a port name such as \"http\"")
		}
		return &networkingv1.ServiceBackendPort{Name: s}, nil
	}
	return nil, fmt.Errorf("port must be a number or a port name, not %s", v.Type().FriendlyName())
}

// backendRecord journals the Ingress's rules and defaultBackend before the
// switch; undo puts both back as they were.
type backendRecord struct {
	Namespace      string                       `json:"namespace"`
	Ingress        string                       `json:"ingress"`
	Rules          []networkingv1.IngressRule   `json:"rules"`
	DefaultBackend *networkingv1.IngressBackend `json:"defaultBackend"`
	// Want is the digest of the rules and defaultBackend the switch is
	// about to write, for an undo that lost the note written after it.
	Want string `json:"want,omitempty"`
}

// backendsDigest covers what switch_backend sets: the rules and the
// defaultBackend.
func backendsDigest(spec networkingv1.IngressSpec) string {
	return kube.Digest(map[string]any{"rules": spec.Rules, "defaultBackend": spec.DefaultBackend})
}

// switchedBackend is one backend the step changed, as it was.
type switchedBackend struct {
	Host, Path, Service, Port string
}

func portString(p networkingv1.ServiceBackendPort) string {
	if p.Name != "" {
		return p.Name
	}
	return strconv.Itoa(int(p.Number))
}

// rewriteBackends switches the matching backends of spec in place and
// returns what they were. Only Service backends are considered: a Resource
// backend is not something a Service can replace.
func rewriteBackends(spec *networkingv1.IngressSpec, to string, port *networkingv1.ServiceBackendPort, host, path, from string) []switchedBackend {
	var out []switchedBackend
	switchOne := func(b *networkingv1.IngressBackend, h, p string) {
		if b == nil || b.Service == nil || (from != "" && b.Service.Name != from) {
			return
		}
		out = append(out, switchedBackend{Host: h, Path: p, Service: b.Service.Name, Port: portString(b.Service.Port)})
		b.Service.Name = to
		if port != nil {
			b.Service.Port = *port
		}
	}
	if host == "" && path == "" {
		switchOne(spec.DefaultBackend, "", "")
	}
	for i := range spec.Rules {
		r := &spec.Rules[i]
		if (host != "" && r.Host != host) || r.HTTP == nil {
			continue
		}
		for j := range r.HTTP.Paths {
			p := &r.HTTP.Paths[j]
			if path != "" && p.Path != path {
				continue
			}
			switchOne(&p.Backend, r.Host, p.Path)
		}
	}
	return out
}

// describeBackends lists an Ingress's Service backends for error messages.
func describeBackends(spec networkingv1.IngressSpec) string {
	var parts []string
	if b := spec.DefaultBackend; b != nil && b.Service != nil {
		parts = append(parts, "defaultBackend → "+b.Service.Name)
	}
	for _, r := range spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service != nil {
				parts = append(parts, fmt.Sprintf("host %q path %q → %s", r.Host, p.Path, p.Backend.Service.Name))
			}
		}
	}
	if len(parts) == 0 {
		return "it has no Service backend"
	}
	return "it has: " + strings.Join(parts, "; ")
}

func (switchBackend) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	cl, err := env.Clients("switch_backend")
	if err != nil {
		return cty.NilVal, err
	}
	c := newBackendConfig()
	if _, err := steps.Decode(cfg, &c); err != nil {
		return cty.NilVal, err
	}
	ns := env.NamespaceFor(c.Namespace, cl)
	name, to := c.Ingress, c.Service
	host, path, from := c.Host, c.Path, c.From
	port, err := portOf(c.Port)
	if err != nil {
		return cty.NilVal, err
	}
	ings := cl.Typed.NetworkingV1().Ingresses(ns)
	// In a dry run, as the dry runs of the stages before leave it
	// (steps.Planned): a first release's earlier stage creates it.
	ing, r := &networkingv1.Ingress{}, ingressRef(ns, name)
	found, after, err := planned(env, r, "ingress", ing, func() (*networkingv1.Ingress, error) {
		return ings.Get(ctx, name, metav1.GetOptions{})
	})
	if err != nil {
		return cty.NilVal, err
	}
	if !found {
		return cty.NilVal, steps.NotRehearsed(cty.NilVal, fmt.Sprintf("ingress/%s is known after %s, whose changes the dry run could not follow", name, strings.Join(after, ", ")))
	}
	_, isPlanned := env.Planned.Object(r)
	rec := backendRecord{Namespace: ns, Ingress: name, Rules: ing.Spec.Rules, DefaultBackend: ing.Spec.DefaultBackend}
	rec = *deepCopyRecord(&rec)
	switched := rewriteBackends(&ing.Spec, to, port, host, path, from)
	if len(switched) == 0 {
		return cty.NilVal, fmt.Errorf("ingress %q in namespace %q has no Service backend %s; %s", name, ns, describeMatch(host, path, from), describeBackends(rec.spec()))
	}
	if err := checkBackendService(ctx, env, cl, ns, to, ing.Spec); err != nil {
		return cty.NilVal, err
	}
	rec.Want = backendsDigest(ing.Spec)
	if !env.DryRun {
		if err := env.Record(rec); err != nil {
			return cty.NilVal, fmt.Errorf("journaling the backends of ingress %q before the switch: %w", name, err)
		}
	}
	if steps.ShouldMark(env, ing.Annotations) {
		if ing.Annotations == nil {
			ing.Annotations = map[string]string{}
		}
		ing.Annotations[kube.AnnotationRun] = env.RunID
	}
	if isPlanned {
		// The rehearsal's Ingress: the switch is checked by the API server
		// as the object it leaves (steps.Env.Rehearse).
		u, err := kube.ToUnstructured(ing)
		if err != nil {
			return cty.NilVal, err
		}
		if _, err := env.Rehearse(ctx, cl, r, u); err != nil {
			return cty.NilVal, err
		}
		return backendOutput(switched), nil
	}
	// Update carries the resourceVersion we read: the journaled rules are
	// exactly what we replace, and a concurrent writer is a retryable
	// conflict.
	out, err := ings.Update(ctx, ing, updateOpts(env))
	if err != nil {
		return cty.NilVal, apiErr(err, "switching ingress %q in namespace %q to service %q", name, ns, to)
	}
	if !env.DryRun {
		env.Remember(kube.Written{Wrote: ingressRef(ns, name), UID: string(out.UID), Digest: backendsDigest(out.Spec)})
	}
	leave(env, r, out)
	env.TrafficMoved(c.DrainDelay)
	return backendOutput(switched), nil
}

func (r *backendRecord) spec() networkingv1.IngressSpec {
	return networkingv1.IngressSpec{Rules: r.Rules, DefaultBackend: r.DefaultBackend}
}

// deepCopyRecord copies the rules so the rewrite does not alter the record.
func deepCopyRecord(r *backendRecord) *backendRecord {
	spec := r.spec()
	c := spec.DeepCopy()
	return &backendRecord{Namespace: r.Namespace, Ingress: r.Ingress, Rules: c.Rules, DefaultBackend: c.DefaultBackend}
}

func describeMatch(host, path, from string) string {
	var parts []string
	if from != "" {
		parts = append(parts, fmt.Sprintf("pointing at service %q", from))
	}
	if host != "" {
		parts = append(parts, fmt.Sprintf("under host %q", host))
	}
	if path != "" {
		parts = append(parts, fmt.Sprintf("at path %q", path))
	}
	if len(parts) == 0 {
		return "to switch"
	}
	return strings.Join(parts, " ")
}

// checkBackendService refuses a switch to a Service that does not exist or
// lacks the port the switched backends will use: the Ingress controller
// would answer 503 for every request.
func checkBackendService(ctx context.Context, env *steps.Env, cl *kube.Clients, ns, name string, spec networkingv1.IngressSpec) error {
	svc := &corev1.Service{}
	r := serviceRef(ns, name)
	if u, ok := env.Planned.Object(r); ok {
		// A dry run's: the Service an earlier stage's dry run creates.
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, svc); err != nil {
			return fmt.Errorf("reading %s: %w", r, err)
		}
	} else {
		live, err := cl.Typed.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if notFound(err) {
			if err := env.Unfollowed(r); err != nil {
				return err
			}
			return fmt.Errorf("service %q not found in namespace %q; the ingress would send traffic nowhere, so nothing was changed", name, ns)
		}
		if err != nil {
			return apiErr(err, "reading service %q in namespace %q", name, ns)
		}
		svc = live
	}
	check := func(b *networkingv1.IngressBackend) error {
		if b == nil || b.Service == nil || b.Service.Name != name {
			return nil
		}
		if hasPort(svc.Spec.Ports, b.Service.Port) {
			return nil
		}
		return fmt.Errorf("service %q in namespace %q has no port %s (it has %s); set port to one of them", name, ns, portString(b.Service.Port), describePorts(svc.Spec.Ports))
	}
	if err := check(spec.DefaultBackend); err != nil {
		return err
	}
	for _, r := range spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for i := range r.HTTP.Paths {
			if err := check(&r.HTTP.Paths[i].Backend); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasPort(ports []corev1.ServicePort, p networkingv1.ServiceBackendPort) bool {
	for _, sp := range ports {
		if (p.Name != "" && sp.Name == p.Name) || (p.Name == "" && sp.Port == p.Number) {
			return true
		}
	}
	return false
}

func describePorts(ports []corev1.ServicePort) string {
	if len(ports) == 0 {
		return "no ports"
	}
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = strconv.Itoa(int(p.Port))
		if p.Name != "" {
			parts[i] = p.Name + " " + parts[i]
		}
	}
	return strings.Join(parts, ", ")
}

func backendOutput(sw []switchedBackend) cty.Value {
	list := make([]cty.Value, len(sw))
	for i, b := range sw {
		list[i] = cty.ObjectVal(map[string]cty.Value{
			"host": cty.StringVal(b.Host), "path": cty.StringVal(b.Path),
			"service": cty.StringVal(b.Service), "port": cty.StringVal(b.Port),
		})
	}
	return cty.ObjectVal(map[string]cty.Value{
		"previous":          cty.StringVal(sw[0].Service),
		"previous_backends": cty.ListVal(list),
	})
}

// Undo puts the rules and defaultBackend of each Ingress back as they were
// before the first attempt (the oldest record of an Ingress wins), unless
// someone changed them since this run switched them (named in a
// *steps.DriftError; --force restores anyway). Records must name the
// stage's Ingress in its namespace. It reads and updates with the
// resourceVersion read, retrying on conflicts with a fresh read and fresh
// checks, so it never clobbers fields the step did not touch (TLS,
// annotations, class).
func (switchBackend) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	cl, err := env.Clients("switch_backend undo")
	if err != nil {
		return err
	}
	type key struct{ ns, name string }
	own, written, at := splitWritten(records)
	prev := map[key]backendRecord{}
	want := map[key]string{}
	lastAt := map[key]int{}
	var order []key
	for i := len(own) - 1; i >= 0; i-- {
		var rec backendRecord
		if err := json.Unmarshal(own[i], &rec); err != nil {
			return fmt.Errorf("switch_backend undo: unreadable journal record %d: %w", i, err)
		}
		k := key{rec.Namespace, rec.Ingress}
		if _, seen := prev[k]; !seen {
			order = append(order, k)
			want[k], lastAt[k] = rec.Want, i
		}
		prev[k] = rec
	}
	last := lastWritten(written, at, func(r kube.Ref) (int, bool) {
		n, ok := lastAt[key{r.Namespace, r.Name}]
		return n, ok && r.Kind == "Ingress"
	})
	c := newBackendConfig()
	known := env.Configured(&c, "ingress", "namespace")
	var target key
	if known {
		target = key{env.NamespaceFor(c.Namespace, cl), c.Ingress}
	}
	var ue steps.UndoErrors
	for _, k := range order {
		what := fmt.Sprintf("ingress/%s in namespace %s", k.name, k.ns)
		if known && k != target {
			ue.Refuse(what, fmt.Sprintf("the stage switches ingress/%s in namespace %s, not this one", target.name, target.ns))
			continue
		}
		rec, w := prev[k], last[ingressRef(k.ns, k.name)]
		var why string
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			why = ""
			ing, err := cl.Typed.NetworkingV1().Ingresses(k.ns).Get(ctx, k.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur := backendsDigest(ing.Spec)
			if cur == backendsDigest(rec.spec()) {
				env.Report(what + " already has its previous backends")
				return nil
			}
			if !known && !steps.MarkedBy(env, ing.Annotations) {
				return steps.Unmarked(env, what, "the stage's Ingress cannot be evaluated")
			}
			if !env.Force {
				switch {
				case w != nil && w.UID != "" && string(ing.UID) != w.UID:
					why = "deleted and re-created since this run switched it"
				case w != nil && cur != w.Digest, w == nil && want[k] != "" && cur != want[k]:
					why = "backends changed since this run switched them"
				}
				if why != "" {
					return nil
				}
			}
			ing.Spec.Rules, ing.Spec.DefaultBackend = rec.Rules, rec.DefaultBackend
			if _, err = cl.Typed.NetworkingV1().Ingresses(k.ns).Update(ctx, ing, updateOpts(env)); err != nil {
				return err
			}
			env.Report(what + ": backends put back as before the run")
			return nil
		})
		var te *steps.TargetError
		switch {
		case errors.As(err, &te):
		case notFound(err):
			err = fmt.Errorf("cannot restore the backends of ingress %q in namespace %q: the ingress no longer exists", k.name, k.ns)
		default:
			err = apiErr(err, "restoring the backends of ingress %q in namespace %q", k.name, k.ns)
		}
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
