package local

import (
	"context"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// decode decodes an HCL body with the kind's spec, as the engine does, so the
// tests exercise the schema as well as Run.
func decode(t *testing.T, k steps.Kind, src string) cty.Value {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse: %s", diags)
	}
	v, diags := hcldec.Decode(f.Body, k.Spec(), nil)
	if diags.HasErrors() {
		t.Fatalf("decode: %s", diags)
	}
	return v
}

// run decodes src and runs the kind with a fresh Env rooted at dir.
func run(t *testing.T, ctx context.Context, k steps.Kind, dir, src string) (cty.Value, error) {
	t.Helper()
	cfg := decode(t, k, src)
	if c, ok := k.(steps.Checker); ok {
		if p := c.Check(cfg); len(p) > 0 {
			t.Fatalf("Check found problems in a valid config: %+v", p)
		}
	}
	out, err := k.Run(ctx, &steps.Env{Pipeline: "p", Stage: "s", Dir: dir, Attempt: 1}, cfg)
	if err == nil {
		if errs := out.Type().TestConformance(k.Output()); errs != nil {
			t.Fatalf("output %#v does not conform to %#v: %v", out, k.Output(), errs)
		}
	}
	return out, err
}

func getStr(t *testing.T, v cty.Value, name string) string {
	t.Helper()
	a := v.GetAttr(name)
	if a.IsNull() {
		t.Fatalf("%s is null", name)
	}
	return a.AsString()
}

func getInt(t *testing.T, v cty.Value, name string) int64 {
	t.Helper()
	a := v.GetAttr(name)
	if a.IsNull() {
		t.Fatalf("%s is null", name)
	}
	i, _ := a.AsBigFloat().Int64()
	return i
}
