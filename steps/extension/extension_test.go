// Package extension_test proves the extension contract of docs/design.md
// ("Recipes") from outside the packages it extends: a step kind, an
// analysis provider and a traffic router, each declared in this test
// package only and registered the way the built-in ones are, run through
// validate, plan and run (and the run's undo) on the local control plane.
package extension_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
	"github.com/cutoverhq/cutover/steps/analysis"
	"github.com/cutoverhq/cutover/steps/route"
)

func TestMain(m *testing.M) { testcluster.Main(m, nil) }

func init() {
	steps.Register(poolKind{})
	analysis.RegisterProvider(&analysis.Provider{
		Name: "pool_weight", Order: 100, Attrs: steps.SpecFor[weightConfig](),
		New: func(b cty.Value, env *steps.Env) (analysis.Measurer, error) {
			var c weightConfig
			if _, err := steps.Decode(b, &c); err != nil {
				return nil, err
			}
			return &weightMeasurer{c: c, env: env}, nil
		},
		ConditionExample: "result.weight < 50",
	})
	route.RegisterRouter(poolRouter{})
}

// poolKind is a new step kind: `pool { name = "…" }` creates a ConfigMap
// that stands for a load balancer's pool, with no weight yet.
type poolKind struct{}

type poolConfig struct {
	Name      string `hcl:"name,required"`
	Namespace string `hcl:"namespace"`
}

func (poolKind) Name() string      { return "pool" }
func (poolKind) Spec() hcldec.Spec { return steps.SpecFor[poolConfig]() }
func (poolKind) Output() cty.Type  { return cty.Object(map[string]cty.Type{"name": cty.String}) }

func (poolKind) Check(cfg cty.Value) []steps.Problem {
	var c poolConfig
	if u, _ := steps.Decode(cfg, &c); !u.Has("name") && strings.ToLower(c.Name) != c.Name {
		return []steps.Problem{{Path: []string{"name"}, Summary: "Invalid name", Detail: "a pool's name is lower case"}}
	}
	return nil
}

func (poolKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	var c poolConfig
	if _, err := steps.Decode(cfg, &c); err != nil {
		return cty.NilVal, err
	}
	cl, err := env.Clients("pool")
	if err != nil {
		return cty.NilVal, err
	}
	out := cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(c.Name)})
	// Writing one object with the undo API (steps/undo.go): the snapshot
	// before, durable before the create; what was written, after it.
	r := poolRef(env.NamespaceFor(c.Namespace, cl), c.Name)
	snap, live, err := cl.Capture(ctx, r)
	if err != nil || live != nil {
		return out, err // a pool that exists is used as it is
	}
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": c.Name, "annotations": steps.MarkAnnotations(env, nil)}}}
	snap.Fields = kube.FieldsOf(cm.Object)
	opts := metav1.CreateOptions{}
	if env.DryRun {
		opts.DryRun = kube.DryRunAll
	} else if err := steps.RecordBefore(env, snap); err != nil {
		return cty.NilVal, err
	}
	created, err := cl.Resource(r).Create(ctx, cm, opts)
	if err != nil {
		return cty.NilVal, steps.APIError(err)
	}
	if !env.DryRun {
		env.Remember(steps.WrittenBy(r, created, snap.Fields))
	}
	return out, nil
}

// Undo deletes a pool this run created, unless someone changed it since,
// through the same API: records must name the stage's pool.
func (poolKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	cl, err := env.Clients("pool")
	if err != nil {
		return err
	}
	var c poolConfig
	p := steps.MarkedTarget(cl)
	if env.Configured(&c, "name", "namespace") {
		p = steps.UndoPolicy{Target: steps.TargetIs(cl, poolRef(env.NamespaceFor(c.Namespace, cl), c.Name))}
	}
	return steps.RestoreObjects(ctx, env, cl, records, p)
}

// weightConfig is the block of the pool_weight provider: it measures the
// weight a pool holds.
type weightConfig struct {
	Pool string `hcl:"pool,required"`
}

type weightMeasurer struct {
	c   weightConfig
	env *steps.Env
}

func (m *weightMeasurer) Describe() string { return "pool_weight " + m.c.Pool }

func (m *weightMeasurer) Measure(ctx context.Context) (cty.Value, string, error) {
	cl, err := m.env.Clients("pool_weight")
	if err != nil {
		return cty.NilVal, "", err
	}
	cm, err := cl.Typed.CoreV1().ConfigMaps(m.env.NamespaceFor("", cl)).Get(ctx, m.c.Pool, metav1.GetOptions{})
	if err != nil {
		return cty.NilVal, "", err
	}
	w, _ := strconv.Atoi(cm.Data["weight"])
	return cty.ObjectVal(map[string]cty.Value{"weight": cty.NumberIntVal(int64(w))}), strconv.Itoa(w), nil
}

// poolRouter is a new traffic router: the canary weight is the pool's
// `weight` key.
type poolRouter struct{}

type poolAttrs struct {
	Pool string `hcl:"pool,required"`
}

type poolRecord struct {
	route.RecordHead
	Weight *string `json:"weight"`
}

func (poolRouter) Name() string            { return "pool" }
func (poolRouter) Spec() hcldec.ObjectSpec { return steps.SpecFor[poolAttrs]() }
func (poolRouter) Object() string          { return "pool" }
func (poolRouter) AttrDocs() map[string]string {
	return map[string]string{"pool": "the pool ConfigMap whose weight the canary gets."}
}
func (poolRouter) Check(cty.Value) []steps.Problem { return nil }
func (poolRouter) Permissions() []steps.Permission {
	return []steps.Permission{{Resource: "configmaps", Verbs: []string{"get", "update"}, Why: "set the pool's weight"}}
}

func poolRef(ns, name string) kube.Ref {
	return kube.Ref{APIVersion: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: ns, Name: name}
}

func (poolRouter) Ref(raw json.RawMessage) (kube.Ref, error) {
	var rec poolRecord
	err := json.Unmarshal(raw, &rec)
	return poolRef(rec.Namespace, rec.Name), err
}

func (poolRouter) Run(ctx context.Context, env *steps.Env, cl *kube.Clients, s route.Traffic) (any, error) {
	cms := cl.Typed.CoreV1().ConfigMaps(s.Namespace)
	cm, err := cms.Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	w := strconv.FormatInt(s.Weight, 10)
	rec := poolRecord{RecordHead: route.RecordHead{Router: s.Router, Namespace: s.Namespace, Name: s.Name, Want: kube.Digest(w)}}
	if v, ok := cm.Data["weight"]; ok {
		rec.Weight = &v
	}
	if err := env.Record(rec); err != nil {
		return nil, err
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data["weight"] = w
	if steps.ShouldMark(env, cm.Annotations) {
		metav1.SetMetaDataAnnotation(&cm.ObjectMeta, kube.AnnotationRun, env.RunID)
	}
	out, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	env.Remember(kube.Written{Wrote: poolRef(s.Namespace, s.Name), UID: string(out.UID), Digest: kube.Digest(w)})
	return map[string]any{"weight": rec.Weight}, nil
}

func (poolRouter) Plan(ctx context.Context, env *steps.Env, cl *kube.Clients, s route.Traffic) (string, error) {
	cm, err := cl.Typed.CoreV1().ConfigMaps(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("pool %s: weight %q → %d", s.Name, cm.Data["weight"], s.Weight), nil
}

func (poolRouter) Undo(ctx context.Context, env *steps.Env, cl *kube.Clients, recs []json.RawMessage, g route.UndoGuard) (string, error) {
	var first poolRecord // the oldest record decides
	if err := json.Unmarshal(recs[len(recs)-1], &first); err != nil {
		return "", err
	}
	cms := cl.Typed.CoreV1().ConfigMaps(first.Namespace)
	cm, err := cms.Get(ctx, first.Name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	why, err := g.Check("pool "+first.Name, string(cm.UID), cm.Annotations, kube.Digest(cm.Data["weight"]))
	if err != nil || why != "" {
		return why, err
	}
	if first.Weight == nil {
		delete(cm.Data, "weight")
	} else {
		cm.Data["weight"] = *first.Weight
	}
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	return "", err
}

const pipeline = `
pipeline "ext" {}

stage "pool" {
  pool { name = "shop" }
}

stage "shift" {
  traffic {
    router = "pool"
    pool   = "shop"
    weight = 25
  }
  depends_on = [stage.pool]
}

stage "gate" {
  verify {
    pool_weight { pool = stage.pool.output.name }
    condition = result.weight < var.max
  }
  depends_on = [stage.shift]
}

variable "max" { default = 50 }
`

// load validates the pipeline as `cutover validate` does: every
// diagnostic of loading and preparing it.
func load(t *testing.T, src string, vars ...string) (*engine.Program, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(dir, steps.Default)
	if diags.HasErrors() {
		return nil, diags
	}
	return engine.Prepare(cfg, engine.Inputs{Vars: vars})
}

type sink struct{ events []events.Event }

func (s *sink) Emit(e events.Event) { s.events = append(s.events, e) }

func TestExtensionValidate(t *testing.T) {
	if _, diags := load(t, pipeline); diags.HasErrors() {
		t.Fatalf("validate: %v", diags)
	}
	for _, tc := range []struct {
		name, from, to, want string
		line                 int
	}{
		{"misspelt attribute of the new kind", `pool { name = "shop" }`, `pool { nmae = "shop" }`, `"nmae" is not expected`, 5},
		{"the new kind's check", `pool { name = "shop" }`, `pool { name = "Shop" }`, "lower case", 5},
		{"the new router's required attribute", `pool   = "shop"`, ``, `router "pool" needs pool`, 9},
		{"the new provider's attribute", `pool_weight { pool = stage.pool.output.name }`, `pool_weight {
      pool = "shop"
      pol  = "x"
    }`, `"pol" is not expected`, 21},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := load(t, strings.Replace(pipeline, tc.from, tc.to, 1))
			var found *hcl.Diagnostic
			for _, d := range diags {
				if strings.Contains(d.Summary+": "+d.Detail, tc.want) {
					found = d
				}
			}
			if found == nil {
				t.Fatalf("want a diagnostic saying %q, got %v", tc.want, diags)
			}
			if r := found.Subject; r == nil || r.Start.Line != tc.line {
				t.Errorf("want it on line %d, got %v", tc.line, r)
			}
		})
	}
}

func TestExtensionPlanAndRun(t *testing.T) {
	ctx, ns, kubeconfig := testcluster.Namespace(t, "ext", 2*time.Minute)
	cluster := kube.New(kube.Options{Kubeconfig: kubeconfig, Namespace: ns})
	cl, err := cluster.Clients()
	if err != nil {
		t.Fatal(err)
	}
	weight := func() string {
		t.Helper()
		cm, err := cl.Typed.CoreV1().ConfigMaps(ns).Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data["weight"]
	}

	// plan --dry-run=server: the new kind dry-runs its create, and the
	// router's plan needs the pool, so it says it cannot read it.
	p, diags := load(t, pipeline)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan := p.Plan(ctx, engine.Options{Cluster: cluster, DryRun: true})
	if len(plan) != 3 || plan[0].Kind != "pool" || plan[1].Kind != "traffic" || plan[2].Kind != "verify" {
		t.Fatalf("plan = %+v", plan)
	}

	// run: the pool is made, the router sets its weight, the provider
	// measures it and the gate passes.
	out, err := p.Run(ctx, engine.Options{RunID: "ext-1", Cluster: cluster, Sink: &sink{}})
	if err != nil || out.Result != events.Succeeded {
		t.Fatalf("run: %v %v", out.Result, err)
	}
	if w := weight(); w != "25" {
		t.Fatalf("weight after the run = %q, want 25", w)
	}

	// plan again, the pool existing: the router's own account of the change.
	plan = p.Plan(ctx, engine.Options{Cluster: cluster, DryRun: true})
	if !strings.Contains(plan[1].Diff, `pool shop: weight "25" → 25`) {
		t.Errorf("traffic plan = %q", plan[1].Diff)
	}

	// a gate the weight fails: the run is undone through the router,
	// which puts the pool's weight back as it was before this run.
	// A pool this run creates ("spare") is deleted by the kind's undo,
	// written with the undo API.
	spare := strings.Replace(pipeline, "weight = 25", "weight = 60", 1) + `
stage "spare" {
  pool { name = "spare" }
  depends_on = [stage.pool]
}
`
	p, diags = load(t, strings.Replace(spare, "depends_on = [stage.shift]", "depends_on = [stage.shift, stage.spare]", 1))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := &sink{}
	out, _ = p.Run(ctx, engine.Options{RunID: "ext-2", Cluster: cluster, Sink: s})
	if out.Result != events.FailedUndone {
		t.Fatalf("the gate should fail at weight 60 and the run be undone, got %q: %+v", out.Result, s.events)
	}
	if w := weight(); w != "25" {
		t.Fatalf("weight after the undo = %q, want 25 (what the run found)", w)
	}
	undone := false
	for _, e := range s.events {
		undone = undone || (e.Stage == "shift" && e.Type == events.UndoSucceeded)
	}
	if !undone {
		t.Errorf("the traffic stage was not undone: %+v", s.events)
	}
	if _, err := cl.Typed.CoreV1().ConfigMaps(ns).Get(ctx, "spare", metav1.GetOptions{}); err == nil {
		t.Errorf("the pool the failed run created is still there after its undo")
	}
	shop, err := cl.Typed.CoreV1().ConfigMaps(ns).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil || shop.Annotations[kube.AnnotationRun] != "ext-1" {
		t.Errorf("the pool ext-1 created should keep its mark (%v): %v", err, shop.GetAnnotations())
	}
}
