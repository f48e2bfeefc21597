package engine

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func TestListFunctions(t *testing.T) {
	ctx := &hcl.EvalContext{
		Functions: functions(t.TempDir()),
		Variables: map[string]cty.Value{"later": cty.UnknownVal(cty.Bool)},
	}
	for _, tc := range []struct {
		expr string
		want cty.Value
		err  string
	}{
		{`alltrue([true, true])`, cty.True, ""},
		{`alltrue([true, false])`, cty.False, ""},
		{`alltrue([])`, cty.True, ""},
		{`alltrue([later, false])`, cty.False, ""},
		{`alltrue([later, true])`, cty.UnknownVal(cty.Bool), ""},
		{`anytrue([false, true])`, cty.True, ""},
		{`anytrue([false])`, cty.False, ""},
		{`anytrue([])`, cty.False, ""},
		{`anytrue([later, true])`, cty.True, ""},
		{`anytrue(["true", "false"])`, cty.True, ""},
		{`alltrue([null])`, cty.NilVal, "null"},
		{`alltrue(["x"])`, cty.NilVal, "bool"},
		{`sum([1, 2, 3.5])`, cty.NumberFloatVal(6.5), ""},
		{`sum([])`, cty.Zero, ""},
		{`sum(["a"])`, cty.NilVal, "number"},
	} {
		expr, diags := hclsyntax.ParseExpression([]byte(tc.expr), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		got, diags := expr.Value(ctx)
		if tc.err != "" {
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.err) {
				t.Errorf("%s: got %#v, %v; want an error about %s", tc.expr, got, diags, tc.err)
			}
			continue
		}
		if diags.HasErrors() {
			t.Errorf("%s: %v", tc.expr, diags)
			continue
		}
		if !got.RawEquals(tc.want) {
			t.Errorf("%s = %#v; want %#v", tc.expr, got, tc.want)
		}
	}
}
