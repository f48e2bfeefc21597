// Package steps holds the contract between the engine and the step kinds, and
// the registry the kinds add themselves to. The engine knows steps only through
// this package; a kind knows nothing of the DAG it runs in.
package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/kube"
)

// Kind is one step kind: the block name inside a stage, its schema and its work.
type Kind interface {
	// Name is the block type that selects the kind inside a stage, e.g. "deploy".
	Name() string
	// Spec is the schema of the step block, derived from the kind's config
	// struct with SpecFor. The engine decodes the block with it, so type
	// errors and unknown attributes are caught at load time.
	Spec() hcldec.Spec
	// Output is the type of the value Run returns. An object type lets the
	// engine reject references to attributes the step does not produce;
	// cty.DynamicPseudoType turns that check off.
	Output() cty.Type
	// Run does the work. cfg conforms to Spec and is known, except for
	// attributes that refer to `result` or `object`: those are unknown until
	// the kind re-evaluates them from Env.Body with the value bound. A kind
	// reads cfg once, with Decode into its config struct. Errors are final
	// unless wrapped with Retryable. A kind that touches the cluster gets
	// its clients from Env.Clients, works out the namespace with
	// Env.NamespaceFor and returns API errors through APIError, so every
	// kind agrees on where it acts and what is worth another attempt
	// (docs/design.md, "Cluster access and namespaces").
	Run(ctx context.Context, env *Env, cfg cty.Value) (cty.Value, error)
}

// Bounded is implemented by kinds whose wait ends by their own rule before
// any timeout of the stage (a pause's timeout, after which on_timeout
// answers): Bound is that wait's length for cfg, 0 for none. The engine
// counts it in the attempt's deadline (Env.Deadline, and the journal's that
// status shows), so the run and status tell the same time.
type Bounded interface {
	Bound(cfg cty.Value) time.Duration
}

// Undoer is implemented by kinds with a built-in compensation. Undo receives,
// in the order they were made, every record Run journaled during all
// attempts of the stage: its own (Env.Record, before each write) and the
// facts it noted after writes (Env.Remember), among them kube.Written
// records, told apart by kube.WrittenOf. Applying its own newest first
// restores the state from before the first attempt; a kube.Written says
// whether someone changed the object since. steps/undo.go does this for
// object snapshots (RestoreObjects) and groups any kind's records per
// object (GroupRecords).
type Undoer interface {
	Undo(ctx context.Context, env *Env, records []json.RawMessage) error
}

// ReadOnly is implemented by kinds that change nothing (checks, waits,
// analysis gates): running one again is harmless, which lets the engine
// journal the news that one finished lazily.
type ReadOnly interface {
	ReadOnly()
}

// Checker is implemented by kinds that validate values beyond their types
// (durations, enums, ranges). It runs at load time with unknown values where
// a stage output is not known yet, so it must skip those.
type Checker interface {
	Check(cfg cty.Value) []Problem
}

// Planner is implemented by kinds that can say, against the live cluster,
// what they would change (plan --dry-run=server). The text is shown as is.
type Planner interface {
	Plan(ctx context.Context, env *Env, cfg cty.Value) (string, error)
}

// Chooser is implemented by kinds whose block may hold inputs that count as
// absent although written: a chart or kustomize block whose path is empty,
// so one stage takes manifests, a chart or an overlay from variables
// (docs/design.md, "Charts and overlays"). A plan leaves out the nested
// block types Absent names, as it leaves out attributes that are null.
type Chooser interface {
	Absent(cfg cty.Value) []string
}

// Renderer is implemented by kinds that apply objects: it renders their
// input (manifests, a chart, an overlay) as a run would, without a cluster,
// so plan --show-manifests can show the documents (docs/design.md,
// "Charts and overlays").
// namespace is the one a chart is rendered for.
type Renderer interface {
	Render(dir, namespace string, cfg cty.Value) ([]kube.Manifest, error)
}

// FileChecker is implemented by kinds whose block names files relative to
// the pipeline directory that are read only when the step runs (a chart,
// an overlay): at load time, once the block's values are known, it reads
// and renders them, so a bad chart is a diagnostic before any write.
// namespace is the pipeline's ("" when it names none), the likeliest for a
// chart to be rendered for. When the check also depends on the namespace
// the run acts in (a deploy's workload rendered into another namespace),
// inNamespace is the rest of it, which the command calls once that
// namespace is resolved (--namespace, the pipeline's, the kubeconfig's),
// before the lock and any write; it reuses what the load rendered where
// the namespace does not change it. nil: nothing is left to check.
type FileChecker interface {
	CheckFiles(dir, namespace string, cfg cty.Value) (problems []Problem, inNamespace func(ns string) []Problem)
}

// Problem is a finding of a Checker. Path names the attribute (and nested
// block types) it concerns, so the engine can point at its source range;
// Subject, when set, is where in another file the problem is (a chart's
// template, a values file), and the diagnostic points there instead.
type Problem struct {
	Path    []string
	Summary string
	Detail  string
	Subject *hcl.Range
}

// RangeOf finds the source range of an attribute path inside a body (a
// Problem's Path); the fallback is used when the path does not lead to a
// native-syntax node.
func RangeOf(body hcl.Body, path []string, fallback hcl.Range) hcl.Range {
	b, ok := body.(*hclsyntax.Body)
	if !ok || len(path) == 0 {
		return fallback
	}
	if a, ok := b.Attributes[path[0]]; ok {
		return a.Expr.Range()
	}
	for _, blk := range b.Blocks {
		if blk.Type == path[0] {
			return RangeOf(blk.Body, path[1:], blk.DefRange())
		}
	}
	return fallback
}

// Env is what a step sees of the run it is part of.
type Env struct {
	Pipeline  string
	Stage     string
	RunID     string
	Attempt   int    // 1 for the first attempt
	Namespace string // the pipeline's default namespace ("" = from kubeconfig)
	Dir       string // the pipeline directory; relative paths resolve against it
	Target    string // the target whose share this is, in a run with targets
	DryRun    bool   // every write must be a server-side dry run
	// Deadline is when the attempt ends at the latest: the stage's
	// timeout, the step's own (Bounded) or the pipeline's, whichever ends
	// first, as journaled; zero when nothing bounds it.
	Deadline time.Time
	// Until is, for a Bounded kind, when its own wait ends if not its
	// Bound from now: in a run resumed after its process died, the end
	// the journal gave the attempt that was waiting (in the past: the
	// wait is over). Zero otherwise. Deadline is never later.
	Until time.Time
	// Planned is, in plan --dry-run=server and run --dry-run=server, what
	// the stages before this one leave; nil otherwise.
	Planned *Planned

	// Command is a cutover command on this run as a message suggests it,
	// complete (the pipeline's directory, --target, the values that say
	// where the targets are, -n namespace): cutover VERB ARGS … .
	Command func(namespace, verb string, args ...string) string

	// Cluster gives lazy access to Kubernetes clients; nil when the command
	// has no cluster (validate, plan without --dry-run).
	Cluster *kube.Cluster

	// Body and EvalContext are the step block and the context it was decoded
	// with, for kinds that re-evaluate expressions lazily (an analysis
	// condition is evaluated once per measurement with `result` bound).
	Body        hcl.Body
	EvalContext *hcl.EvalContext

	// Progress reports what a long step is waiting for ("ready 3/10").
	Progress func(msg string)
	// Capture journals a record needed to undo the write that follows. It
	// returns only once the record is durable; a step must not write if it
	// fails.
	Capture func(record any) error
	// Note keeps a fact learnt after a write (the UID cutover created, a
	// digest of what it wrote) with the stage's undo records. It is journaled
	// with the next append, not at once: a process killed right after the
	// write may lose it, so an Undo must cope without it.
	Note func(record any)

	// Config is, during Undo only, the step block evaluated as the undo sees
	// it (unknown where it cannot be evaluated). Undo checks every record
	// against it: a record naming an object the stage does not target was
	// not written by this pipeline and is refused (TargetError).
	Config cty.Value
	// Force is set by `cutover undo --force`: Undo restores objects someone
	// changed since the run wrote them instead of leaving them alone.
	Force bool

	// Moved is told, by a kind whose write (or undo) moves clients from one
	// set of pods to another (a selector, a backend, weights), how long the
	// data plane may take to follow: ingress controllers, kube-proxy and
	// meshes act on the API seconds later. Until then the engine starts no
	// stage that writes and no compensation that takes capacity away
	// (Shrinker), so the pods clients still reach keep serving
	// (docs/design.md, "Draining").
	Moved func(drain time.Duration)
}

// TrafficMoved calls Moved when set; a dry run moves nothing.
func (e *Env) TrafficMoved(drain time.Duration) {
	if e != nil && e.Moved != nil && !e.DryRun {
		e.Moved(drain)
	}
}

// Report calls Progress when set.
func (e *Env) Report(msg string) {
	if e != nil && e.Progress != nil {
		e.Progress(msg)
	}
}

// Remember calls Note when set.
func (e *Env) Remember(record any) {
	if e != nil && e.Note != nil {
		e.Note(record)
	}
}

// Record calls Capture when set; without a journal the record is kept nowhere.
func (e *Env) Record(record any) error {
	if e == nil || e.Capture == nil {
		return nil
	}
	return e.Capture(record)
}

// Permissioner is implemented by kinds that touch the cluster: the API
// permissions a stage with cfg needs to run and to be undone. `cutover rbac`
// unions them into the Role a pipeline's service account needs. cfg may hold
// unknown values (variables not given); a kind then names what it can
// (a manifest's kinds, say) and falls back to its usual resources.
type Permissioner interface {
	Permissions(env *Env, cfg cty.Value) ([]Permission, error)
}

// Permission is one RBAC rule: verbs on a resource of an API group ("" is
// core). Why says which stage needs it and for what, for the generated
// Role's comments.
type Permission struct {
	APIGroup string
	Resource string
	Verbs    []string
	Why      string
	// Assumed: what the step acts on depends on a value not known yet (a
	// variable not given to `cutover rbac`): this is a stand-in, which the
	// command says, not what a run will need.
	Assumed bool
}

// Shrinker is implemented by kinds whose undo may take capacity away: delete
// what the run created, scale back down. Undo runs those after every other
// compensation, so traffic is back on the old version (and the old version
// scaled back up) before anything that serves it is removed, and wait
// for the data plane to follow the traffic's undo (Env.Moved).
type Shrinker interface {
	UndoShrinks(records []json.RawMessage) bool
}

// Releaser is implemented by kinds whose write may hold a controller back
// (spec.paused: kubectl rollout pause), so that their undo lets it act
// again. Undo runs those after every other compensation, shrinking ones
// included: the controller must first see the object as it was (a
// Deployment's old template), never the release's spec released. Resumed
// while its template is still the new one, a Deployment controller rolls
// the release forward (scales it up, deletes old pods) before the template's
// own undo rolls it back. An undo cut short leaves the hold on, with what
// it held restored: the safe state, which `cutover undo RUN` finishes.
type Releaser interface {
	UndoReleases(records []json.RawMessage) bool
}

// Binder is implemented by kinds whose block may refer to names the kind
// binds itself while it runs: `result` (each measurement of a verify),
// `object` (the object a wait watches). Anywhere else such a name is
// unknown, so a misplaced `result.x` is a diagnostic at load time instead
// of an empty string at run time.
type Binder interface {
	Binds() []string
}

// BindsOf is what k binds (nil for a kind that binds nothing).
func BindsOf(k Kind) []string {
	if b, ok := k.(Binder); ok {
		return b.Binds()
	}
	return nil
}

// Configured decodes Config, during Undo, into dst (a kind's block struct)
// and reports whether it is there and the attributes named are known: only
// then can records be checked against the stage's targets by name. A
// missing Config (an Env built without one) counts as unknown; an undo then
// writes only to objects carrying the run's mark.
func (e *Env) Configured(dst any, attrs ...string) bool {
	if e == nil {
		return false
	}
	cfg := e.Config
	if cfg.Type() == cty.NilType || cfg.IsNull() || !cfg.IsKnown() {
		return false
	}
	u, err := Decode(cfg, dst)
	return err == nil && !u.Has(attrs...)
}

// Clients is the one way a kind reaches the cluster: the run's clients,
// built on first use and shared by every stage. what names who asks ("scale",
// "the kubernetes provider") in the error given when the command runs
// without a cluster (validate, plan without --dry-run=server) or cannot
// build one.
func (e *Env) Clients(what string) (*kube.Clients, error) {
	if e == nil || e.Cluster == nil {
		return nil, fmt.Errorf("%s needs a Kubernetes cluster, and this command runs without one (plan needs --dry-run=server)", what)
	}
	c, err := e.Cluster.Clients()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

// NamespaceFor is the one way a kind works out where it acts, by
// kube.NamespaceOf: its own namespace attribute (own), else the run's (the
// command resolved it by the same rule: --namespace, the pipeline's, the
// kubeconfig's), else the clients' context (c may be nil), else "default".
func (e *Env) NamespaceFor(own string, c *kube.Clients) string {
	if e == nil {
		return kube.NamespaceOf(c, own)
	}
	return kube.NamespaceOf(c, own, e.Namespace)
}
