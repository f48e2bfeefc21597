package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/cutoverhq/cutover/steps"
	_ "github.com/cutoverhq/cutover/steps/all"
)

// TestVariablesPlanMatchesHCL: for the block of every kind cutover ships,
// written with every attribute and nested block its spec names (each
// referring to a variable of its own), a nested block also written with a
// label and a second time, and attributes the spec does not name, the plan
// finds the references hcldec.Variables finds, as many times each.
func TestVariablesPlanMatchesHCL(t *testing.T) {
	planned := 0
	for _, name := range steps.Default.Names() {
		k, _ := steps.Default.Lookup(name)
		spec := k.Spec()
		plan := planVariables(spec)
		if plan == nil {
			continue // hcldec.Variables reads it
		}
		planned++
		var b strings.Builder
		n := 0
		writeBody(&b, plan, &n)
		src := b.String()
		f, diags := hclsyntax.ParseConfig([]byte(src), "p.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s\n%s", name, diags, src)
		}
		got, want := refs(plan.variables(f.Body, spec)), refs(hcldec.Variables(f.Body, spec))
		if !slices.Equal(got, want) {
			t.Errorf("%s: the plan finds %v; hcldec.Variables %v\n%s", name, got, want, src)
		}
		if len(want) == 0 {
			t.Errorf("%s: no references found in\n%s", name, src)
		}
	}
	if planned == 0 {
		t.Fatal("no kind's spec was planned")
	}
}

// writeBody writes every attribute and block of plan, each attribute
// referring to var.vN, and what the spec does not read.
func writeBody(b *strings.Builder, plan *varPlan, n *int) {
	ref := func() string { *n++; return fmt.Sprintf("var.v%d", *n) }
	for _, a := range plan.attrs {
		fmt.Fprintf(b, "%s = [%s, \"${%s}\"]\n", a, ref(), ref())
	}
	fmt.Fprintf(b, "not_in_the_spec_%d = %s\n", *n, ref())
	for _, bp := range plan.blocks {
		fmt.Fprintf(b, "%s \"label\" {\n", bp.typ)
		writeBody(b, bp.nested, n)
		fmt.Fprintf(b, "}\n%s {\n", bp.typ)
		writeBody(b, bp.nested, n)
		fmt.Fprintf(b, "}\n%s {\n", bp.typ)
		writeBody(b, bp.nested, n)
		b.WriteString("}\n")
	}
}

// refs is each traversal's text with its position, sorted.
func refs(trs []hcl.Traversal) []string {
	out := map[string]int{}
	for _, tr := range trs {
		name, _ := attrAt(tr, 1)
		out[fmt.Sprintf("%s.%s@%s", tr.RootName(), name, tr.SourceRange())]++
	}
	var s []string
	for _, k := range slices.Sorted(maps.Keys(out)) {
		s = append(s, fmt.Sprintf("%s×%d", k, out[k]))
	}
	return s
}
