package reference

import (
	"encoding/json"
	"testing"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

type testKind struct{ steps.Kind }

func (testKind) Name() string { return "thing" }
func (testKind) Spec() hcldec.Spec {
	return &hcldec.ObjectSpec{
		"name":  &hcldec.AttrSpec{Name: "name", Type: cty.String, Required: true},
		"count": &hcldec.AttrSpec{Name: "count", Type: cty.Number},
		"sub": &hcldec.BlockSpec{TypeName: "sub", Nested: &hcldec.ObjectSpec{
			"tags": &hcldec.AttrSpec{Name: "tags", Type: cty.Map(cty.String)},
		}},
	}
}
func (testKind) Output() cty.Type { return cty.Object(map[string]cty.Type{"id": cty.String}) }

// A kind registered in a registry is in the schema under stage, with its
// required attributes, types (a template string allowed for a number) and
// nested blocks.
func TestSchemaHasRegisteredKind(t *testing.T) {
	reg := steps.NewRegistry()
	reg.Register(testKind{})
	out, err := Schema(reg)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	at := func(m any, keys ...string) any {
		for _, k := range keys {
			mm, ok := m.(map[string]any)
			if !ok {
				t.Fatalf("no %v in the schema", keys)
			}
			m = mm[k]
		}
		return m
	}
	stage := at(doc, "properties", "stage", "additionalProperties")
	thing := at(stage, "properties", "thing")
	if req := at(thing, "required"); len(req.([]any)) != 1 || req.([]any)[0] != "name" {
		t.Errorf("required = %v, want [name]", req)
	}
	if ty := at(thing, "properties", "count", "type"); len(ty.([]any)) != 2 {
		t.Errorf("count type = %v, want number or a template string", ty)
	}
	if ty := at(thing, "properties", "sub", "properties", "tags", "x-cutover-type"); ty != "map(string)" {
		t.Errorf("sub.tags = %v", ty)
	}
	files, err := Files(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["steps/thing.md"]; !ok {
		t.Errorf("no page for the kind: %v", files)
	}
}
