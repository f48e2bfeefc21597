package analysis

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/cutoverhq/cutover/steps"
	"github.com/cutoverhq/cutover/steps/stepstest"
)

// parseBody parses HCL source as a block body.
func parseBody(t *testing.T, src string) hcl.Body {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse: %s", diags.Error())
	}
	return f.Body
}

// loadCtx is what the engine's load-time context looks like to a verify
// block: variables it may use, and result unknown.
func loadCtx(vars map[string]cty.Value) *hcl.EvalContext {
	all := map[string]cty.Value{"result": cty.DynamicVal}
	for k, v := range vars {
		all[k] = v
	}
	// A few of the functions the engine offers, so tests prove they reach
	// the per-measurement child context.
	return &hcl.EvalContext{Variables: all, Functions: map[string]function.Function{
		"trimspace": stdlib.TrimSpaceFunc,
		"coalesce":  stdlib.CoalesceFunc,
		"length":    stdlib.LengthFunc,
	}}
}

// inline decodes src as the body of a verify block the way the engine
// does, and returns the env and cfg Run receives.
func inline(t *testing.T, src string, vars map[string]cty.Value) (*steps.Env, cty.Value) {
	t.Helper()
	body := parseBody(t, src)
	ctx := loadCtx(vars)
	cfg, diags := hcldec.Decode(body, verifySpec(), ctx)
	if diags.HasErrors() {
		t.Fatalf("decode: %s", diags.Error())
	}
	return &steps.Env{Stage: "verify_green", Body: body, EvalContext: ctx}, cfg
}

// reference returns the env and cfg of `verify { analysis = analysis.NAME }`
// for an analysis block with body src.
func reference(t *testing.T, name, src string, vars map[string]cty.Value) (*steps.Env, cty.Value) {
	t.Helper()
	a := &steps.Analysis{Name: name, Body: parseBody(t, src)}
	ctx := loadCtx(vars)
	ctx.Variables["analysis"] = cty.ObjectVal(map[string]cty.Value{name: cty.CapsuleVal(steps.AnalysisType, a)})
	return inlineWith(t, `analysis = analysis.`+name, ctx)
}

func inlineWith(t *testing.T, src string, ctx *hcl.EvalContext) (*steps.Env, cty.Value) {
	t.Helper()
	body := parseBody(t, src)
	cfg, diags := hcldec.Decode(body, verifySpec(), ctx)
	if diags.HasErrors() {
		t.Fatalf("decode: %s", diags.Error())
	}
	return &steps.Env{Stage: "verify_green", Body: body, EvalContext: ctx}, cfg
}

// fakeClock advances only when the gate sleeps, and records each sleep.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d = max(d, 0)
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// progress collects what a step reports.
type progress struct {
	mu   sync.Mutex
	msgs []string
}

func (p *progress) report(m string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, m)
}

func (p *progress) all() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.msgs, "\n")
}

// runFake runs the verify kind with a clock that never waits.
func runFake(t *testing.T, env *steps.Env, cfg cty.Value) (cty.Value, *progress, error) {
	t.Helper()
	p := &progress{}
	env.Progress = p.report
	out, err := run(context.Background(), env, cfg, newFakeClock())
	return out, p, err
}

func num64(t *testing.T, v cty.Value, name string) int64 {
	t.Helper()
	return stepstest.Int(v, name, -1)
}

func decodeWith(t *testing.T, body hcl.Body, env *steps.Env) (cty.Value, *steps.Env) {
	t.Helper()
	cfg, diags := hcldec.Decode(body, verifySpec(), env.EvalContext)
	if diags.HasErrors() {
		t.Fatalf("decode: %s", diags.Error())
	}
	return cfg, &steps.Env{Stage: env.Stage, Body: body, EvalContext: env.EvalContext}
}
