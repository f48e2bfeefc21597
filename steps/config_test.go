package steps

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

type testResource struct {
	Kind      string `hcl:"kind,required"`
	Name      string `hcl:"name,required"`
	Namespace string `hcl:"namespace"`
}

type testBlock struct {
	Name     string            `hcl:"name,required"`
	Count    int               `hcl:"count"`
	Ratio    *float64          `hcl:"ratio"`
	Wait     bool              `hcl:"wait"`
	Timeout  time.Duration     `hcl:"timeout"`
	Labels   map[string]string `hcl:"labels"`
	Args     []string          `hcl:"args"`
	Until    cty.Value         `hcl:"until,type=bool"`
	Resource *testResource     `hcl:"resource,block"`
	NotInHCL string
}

func decodeSrc(t *testing.T, src string) (cty.Value, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "t.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.DynamicVal, "object": cty.DynamicVal}}
	return hcldec.Decode(f.Body, SpecFor[testBlock](), ctx)
}

func TestSpecFor(t *testing.T) {
	spec := SpecFor[testBlock]()
	if len(spec) != 9 {
		t.Fatalf("spec has %d entries, want 9 (untagged fields are not attributes): %v", len(spec), spec)
	}
	if a := spec["name"].(*hcldec.AttrSpec); !a.Required || a.Type != cty.String {
		t.Errorf("name = %+v", a)
	}
	if a := spec["timeout"].(*hcldec.AttrSpec); a.Type != cty.String {
		t.Errorf("a duration is a string in HCL, got %#v", a.Type)
	}
	if b := spec["resource"].(*hcldec.BlockSpec); b.Required || len(b.Nested.(hcldec.ObjectSpec)) != 3 {
		t.Errorf("resource = %+v", b)
	}
	// A misspelt attribute is an error of the decode, with its range.
	_, diags := decodeSrc(t, "name = \"a\"\ntimout = \"1s\"\n")
	if !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 {
		t.Errorf("misspelt attribute: %v", diags)
	}
}

func TestDecode(t *testing.T) {
	cfg, diags := decodeSrc(t, `
name    = "web"
count   = 3
timeout = "1m30s"
labels  = { app = "web" }
args    = ["a", "b"]
until   = object.ready
resource {
  kind = "Deployment"
  name = var.name
}
`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c := testBlock{Wait: true, Count: 1}
	u, err := Decode(cfg, &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "web" || c.Count != 3 || c.Timeout != 90*time.Second || c.Labels["app"] != "web" || len(c.Args) != 2 {
		t.Errorf("decoded %+v", c)
	}
	if !c.Wait || c.Ratio != nil {
		t.Errorf("null attributes keep their defaults: wait=%v ratio=%v", c.Wait, c.Ratio)
	}
	if c.Resource == nil || c.Resource.Kind != "Deployment" || c.Resource.Name != "" {
		t.Errorf("resource = %+v", c.Resource)
	}
	if !u.Has("resource.name") || !u.Has("until") || u.Has("name", "resource.kind", "timeout") {
		t.Errorf("unknown = %v", u.set)
	}
	if c.Until.IsNull() || c.Until.IsKnown() {
		t.Errorf("until is kept as an unknown value, got %#v", c.Until)
	}
}

func TestDecodeWhollyUnknown(t *testing.T) {
	var c testBlock
	u, err := Decode(cty.UnknownVal(hcldec.ImpliedType(SpecFor[testBlock]())), &c)
	_ = u
	if err != nil || !u.Has("name") || !u.Has("resource.kind") {
		t.Errorf("an unknown block leaves every attribute unknown: %v %v", u.set, err)
	}
}

func TestDecodeProblems(t *testing.T) {
	cfg, diags := decodeSrc(t, "name = \"a\"\ncount = 1.5\ntimeout = \"soon\"\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var c testBlock
	_, err := Decode(cfg, &c)
	ps := ProblemsOf(err)
	if len(ps) != 2 {
		t.Fatalf("want two problems, got %v", err)
	}
	got := map[string]string{}
	for _, p := range ps {
		got[strings.Join(p.Path, ".")] = p.Detail
	}
	if !strings.Contains(got["count"], "whole number; got 1.5") || !strings.Contains(got["timeout"], "not a duration") {
		t.Errorf("problems: %v", got)
	}
}

func TestUnknownHasMisspelt(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("asking about an attribute the block does not declare must panic")
		}
	}()
	var c testBlock
	u, _ := Decode(cty.NullVal(hcldec.ImpliedType(SpecFor[testBlock]())), &c)
	u.Has("nmae")
}

// TestDecodeKnownPart: a list or map with unknown elements is unknown, and
// its field holds the known ones.
func TestDecodeKnownPart(t *testing.T) {
	cfg, diags := decodeSrc(t, `
name   = "web"
args   = ["a", var.x, "b"]
labels = { app = "web", tier = var.tier }
`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var c testBlock
	u, err := Decode(cfg, &c)
	if err != nil {
		t.Fatal(err)
	}
	if !u.Has("args") || !u.Has("labels") || u.Has("name") {
		t.Errorf("unknown = %v", u.set)
	}
	if strings.Join(c.Args, ",") != "a,b" || len(c.Labels) != 1 || c.Labels["app"] != "web" {
		t.Errorf("known parts: args %q, labels %v", c.Args, c.Labels)
	}
}
