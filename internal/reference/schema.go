package reference

import (
	"encoding/json"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/steps"
)

// Schema is the JSON Schema (2020-12) of a pipeline file as the JSON form
// of HCL writes it (what hcl2json and editors' HCL tooling produce): a
// labelled block is an object keyed by its label, a block that repeats an
// object or an array of them. An attribute's value may also be a string
// holding a template ("${var.replicas}"), so non-string types accept one.
func Schema(reg *steps.Registry) ([]byte, error) {
	fields := fieldsOfBlocks(config.Language(reg))
	documentBlocks(reg, fields)
	doc := bodySchema(fields, false)
	doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	doc["title"] = "cutover pipeline"
	doc["description"] = "A cutover pipeline file (docs/language.md), in the JSON form of HCL; generated from the decoder's schemas by `cutover schema`."
	out, err := json.MarshalIndent(doc, "", "  ")
	return append(out, '\n'), err
}

// documentBlocks gives the step blocks of stages and undo blocks, and the
// analysis blocks, the reference pages' descriptions, for editors' hovers.
func documentBlocks(reg *steps.Registry, fields []field) {
	for i := range fields {
		f := &fields[i]
		switch f.Name {
		case "stage", "undo":
			for j := range f.Fields {
				g := &f.Fields[j]
				if k, ok := reg.Lookup(g.Name); ok && g.Block {
					if d, ok := k.(documented); ok {
						g.Doc = d.Doc()
						applyDocs(g.Fields, "", d.AttrDocs())
					}
				}
			}
			documentBlocks(reg, f.Fields)
		case "analysis":
			applyDocs(f.Fields, "", reg.AnalysisDocs())
		}
	}
}

type obj = map[string]any

func bodySchema(fields []field, anyAttrs bool) obj {
	props := obj{}
	var required []string
	for _, f := range fields {
		props[f.Name] = fieldSchema(f)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	s := obj{"type": "object", "properties": props, "additionalProperties": anyAttrs}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func fieldSchema(f field) obj {
	if !f.Block {
		s := typeSchema(f.Type)
		s["x-cutover-type"] = typeName(f.Type)
		if f.Doc != "" {
			s["description"] = f.Doc
		}
		return s
	}
	body := bodySchema(f.Fields, f.Any)
	if f.Doc != "" {
		body["description"] = f.Doc
	}
	for range f.Labels {
		body = obj{"type": "object", "additionalProperties": body}
	}
	if f.Multiple && len(f.Labels) == 0 {
		return obj{"oneOf": []any{body, obj{"type": "array", "items": body}}}
	}
	return body
}

// typeSchema is the JSON Schema of a cty type; values of other types than
// string may also be written as a template string.
func typeSchema(t cty.Type) obj {
	withTemplate := func(jsonType string) obj { return obj{"type": []string{jsonType, "string"}} }
	switch {
	case t == cty.String:
		return obj{"type": "string"}
	case t == cty.Number:
		return withTemplate("number")
	case t == cty.Bool:
		return withTemplate("boolean")
	case t.IsListType() || t.IsSetType():
		s := withTemplate("array")
		s["items"] = typeSchema(t.ElementType())
		return s
	case t.IsMapType():
		s := withTemplate("object")
		s["additionalProperties"] = typeSchema(t.ElementType())
		return s
	case t.IsObjectType():
		props := obj{}
		for n, at := range t.AttributeTypes() {
			props[n] = typeSchema(at)
		}
		s := withTemplate("object")
		s["properties"] = props
		return s
	}
	return obj{}
}
