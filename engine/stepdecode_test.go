package engine

import (
	"fmt"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// TestDecodeStepIsHcldec: for clean and faulty step blocks alike,
// decodeStep gives hcldec.Decode's value and diagnostics.
func TestDecodeStepIsHcldec(t *testing.T) {
	attrs := hcldec.ObjectSpec{
		"command": &hcldec.AttrSpec{Name: "command", Type: cty.List(cty.String), Required: true},
		"env":     &hcldec.AttrSpec{Name: "env", Type: cty.Map(cty.String)},
		"count":   &hcldec.AttrSpec{Name: "count", Type: cty.Number},
	}
	nested := hcldec.ObjectSpec{
		"name": &hcldec.AttrSpec{Name: "name", Type: cty.String},
		"resource": &hcldec.BlockSpec{TypeName: "resource", Nested: hcldec.ObjectSpec{
			"kind": &hcldec.AttrSpec{Name: "kind", Type: cty.String, Required: true},
		}},
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"var":   cty.ObjectVal(map[string]cty.Value{"v": cty.StringVal("v1"), "n": cty.NumberIntVal(3)}),
		"stage": cty.ObjectVal(map[string]cty.Value{"a": cty.UnknownVal(cty.Object(map[string]cty.Type{"stdout": cty.String}))}),
	}}
	for _, c := range []struct {
		spec hcldec.ObjectSpec
		src  string
		fast bool // read without hcldec
	}{
		{attrs, `command = ["echo", "${var.v}", stage.a.stdout]`, true},
		{attrs, `command = ["true"]` + "\n" + `env = {A = "b"}` + "\n" + `count = var.n`, true},
		{attrs, `command = []`, true},
		{attrs, `env = {}`, false},                               // required attribute missing
		{attrs, `command = ["a"]` + "\n" + `other = 1`, false},   // not in the schema
		{attrs, `command = "a"`, false},                          // wrong type
		{attrs, `command = [var.nope]`, false},                   // evaluation error
		{attrs, `command = ["a"]` + "\n" + `count = "x"`, false}, // does not convert
		{attrs, `command = ["a"]` + "\n" + "env {\n}", false},    // a block
		{nested, `name = "a"` + "\n" + "resource {\n kind = \"x\"\n}", false},
		{nested, `name = "a"`, false},
	} {
		f, diags := hclsyntax.ParseConfig([]byte(c.src), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", c.src, diags)
		}
		if _, fast := decodeAttrs(f.Body, c.spec, ctx); fast != c.fast {
			t.Errorf("%s: read directly: %v; want %v", c.src, fast, c.fast)
		}
		want, wantDiags := hcldec.Decode(f.Body, c.spec, ctx)
		got, gotDiags := decodeStep(f.Body, c.spec, ctx)
		if !got.RawEquals(want) {
			t.Errorf("%s: decodeStep = %#v; hcldec.Decode = %#v", c.src, got, want)
		}
		if fmt.Sprint(gotDiags) != fmt.Sprint(wantDiags) {
			t.Errorf("%s: decodeStep's diagnostics %s; hcldec's %s", c.src, gotDiags, wantDiags)
		}
	}
}
