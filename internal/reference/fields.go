// Package reference renders the language's JSON schema and its reference
// pages (one per step kind and analysis provider) from the schemas the
// decoder uses: engine/config's blocks and the kinds' hcldec specs in the
// step registry (docs/design.md, "The command line").
package reference

import (
	"sort"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/engine/config"
)

// field is an attribute or a nested block, whatever schema declared it.
type field struct {
	Name     string
	Block    bool
	Type     cty.Type // attributes; DynamicPseudoType when any
	Required bool
	Multiple bool     // a block that may repeat
	Labels   []string // a block's label names
	Any      bool     // a block that takes any attribute (locals)
	Fields   []field  // a block's body
	Doc      string
}

// fieldsOfSpec walks an hcldec spec into fields, sorted by name.
func fieldsOfSpec(s hcldec.Spec) []field {
	var out []field
	add := func(f field, ok bool) {
		if ok {
			out = append(out, f)
		}
	}
	switch s := s.(type) {
	case nil:
	case hcldec.ObjectSpec:
		for _, v := range s {
			add(fieldOfSpec(v))
		}
	case *hcldec.ObjectSpec:
		for _, v := range *s {
			add(fieldOfSpec(v))
		}
	default:
		add(fieldOfSpec(s))
	}
	sortFields(out)
	return out
}

// fieldOfSpec is the field one spec declares; false for specs that
// declare none (literals, labels, expressions).
func fieldOfSpec(s hcldec.Spec) (field, bool) {
	switch s := s.(type) {
	case *hcldec.AttrSpec:
		return field{Name: s.Name, Type: s.Type, Required: s.Required}, true
	case *hcldec.BlockSpec:
		return field{Name: s.TypeName, Block: true, Required: s.Required, Fields: fieldsOfSpec(s.Nested)}, true
	case *hcldec.BlockListSpec:
		return field{Name: s.TypeName, Block: true, Multiple: true, Required: s.MinItems > 0, Fields: fieldsOfSpec(s.Nested)}, true
	case *hcldec.BlockSetSpec:
		return field{Name: s.TypeName, Block: true, Multiple: true, Required: s.MinItems > 0, Fields: fieldsOfSpec(s.Nested)}, true
	case *hcldec.BlockMapSpec:
		return field{Name: s.TypeName, Block: true, Multiple: true, Labels: s.LabelNames, Fields: fieldsOfSpec(s.Nested)}, true
	case *hcldec.BlockObjectSpec:
		return field{Name: s.TypeName, Block: true, Multiple: true, Labels: s.LabelNames, Fields: fieldsOfSpec(s.Nested)}, true
	case *hcldec.BlockAttrsSpec:
		return field{Name: s.TypeName, Block: true, Required: s.Required, Any: true}, true
	case *hcldec.DefaultSpec:
		f, ok := fieldOfSpec(s.Primary)
		f.Required = false
		return f, ok
	case *hcldec.ValidateSpec:
		return fieldOfSpec(s.Wrapped)
	case *hcldec.TransformExprSpec:
		return fieldOfSpec(s.Wrapped)
	case *hcldec.TransformFuncSpec:
		return fieldOfSpec(s.Wrapped)
	case *hcldec.RefineValueSpec:
		return fieldOfSpec(s.Wrapped)
	}
	return field{}, false
}

// fieldsOfBlocks is the language's structure as fields.
func fieldsOfBlocks(blocks []*config.Block) []field {
	var out []field
	for _, b := range blocks {
		f := field{Name: b.Type, Block: true, Multiple: b.Multiple, Labels: b.Labels, Any: b.AnyAttributes}
		if b.Spec != nil {
			f.Fields = fieldsOfSpec(b.Spec)
		}
		for _, a := range b.Attributes {
			f.Fields = append(f.Fields, field{Name: a.Name, Type: cty.DynamicPseudoType, Required: a.Required})
		}
		f.Fields = append(f.Fields, fieldsOfBlocks(b.Blocks)...)
		out = append(out, f)
	}
	return out
}

// sortFields puts attributes before blocks, each by name.
func sortFields(fs []field) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Block != fs[j].Block {
			return !fs[i].Block
		}
		return fs[i].Name < fs[j].Name
	})
}

// typeName is a type as the language writes it: list(string), map(number).
func typeName(t cty.Type) string {
	switch {
	case t == cty.DynamicPseudoType:
		return "any"
	case t.IsListType():
		return "list(" + typeName(t.ElementType()) + ")"
	case t.IsSetType():
		return "set(" + typeName(t.ElementType()) + ")"
	case t.IsMapType():
		return "map(" + typeName(t.ElementType()) + ")"
	case t.IsTupleType():
		return "tuple"
	case t.IsObjectType():
		names := make([]string, 0, len(t.AttributeTypes()))
		for n := range t.AttributeTypes() {
			names = append(names, n)
		}
		sort.Strings(names)
		s := "object({"
		for i, n := range names {
			if i > 0 {
				s += ", "
			}
			s += n + " = " + typeName(t.AttributeType(n))
		}
		return s + "})"
	}
	return t.FriendlyNameForConstraint()
}
