package route

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// cfgOf decodes a step block body written in HCL with the kind's own spec,
// as the engine does, and runs its Checker.
func cfgOf(t testing.TB, k steps.Kind, src string) cty.Value {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	v, diags := hcldec.Decode(f.Body, k.Spec(), nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if c, ok := k.(steps.Checker); ok {
		if ps := c.Check(v); len(ps) > 0 {
			t.Fatalf("Check: %+v", ps)
		}
	}
	return v
}

func TestSpecsDecode(t *testing.T) {
	v := cfgOf(t, trafficKind{}, `
router = "gateway-api"
route  = "web"
stable = "web-stable"
canary = "web-canary"
weight = 10
header {
  name  = "x-canary"
  value = "yes"
}`)
	s, err := trafficOf(v)
	if err != nil || s.Header == nil || s.Header.Value != "yes" || s.Weight != 10 || s.Name != "web" {
		t.Fatalf("spec = %+v, %v", s, err)
	}
	v = cfgOf(t, switchSelector{}, `
service  = "web"
selector = { version = "v2", track = null }`)
	c := newSelectorConfig()
	if _, err := steps.Decode(v, &c); err != nil {
		t.Fatal(err)
	}
	ch := selectorChange(c.Selector)
	if ch.set["version"] != "v2" || len(ch.del) != 1 || ch.del[0] != "track" {
		t.Fatalf("selector change = %+v", ch)
	}
	v = cfgOf(t, switchBackend{}, `
ingress = "web"
service = "green"
port    = "http"`)
	if p, err := portOf(v.GetAttr("port")); err != nil || p.Name != "http" {
		t.Fatalf("port = %+v, %v", p, err)
	}
	cfgOf(t, labelKind{}, `
name   = "web-v2"
add    = { createBy = "cutover" }
remove = ["old"]`)
}

func ctyStr(s string) cty.Value { return cty.StringVal(s) }
