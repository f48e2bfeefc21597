package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"

	"github.com/cutoverhq/cutover/steps"
)

// Block is one block type of the language as the decoder reads it, for the
// JSON schema and the reference pages (`cutover schema`, docs/reference):
// they are built from the same schemas Load uses, so they cannot drift.
type Block struct {
	Type   string
	Labels []string
	// Attributes the engine decodes itself (their values are expressions
	// of any type until evaluated).
	Attributes []hcl.AttributeSchema
	// AnyAttributes: any attribute name is allowed (locals).
	AnyAttributes bool
	Blocks        []*Block
	// Spec is the schema of a block decoded by a step kind or the
	// analysis package; Attributes and Blocks are empty then.
	Spec hcldec.Spec
	// Multiple: the block may appear more than once in its parent.
	Multiple bool
}

// Language is the structure of a pipeline file with reg's step kinds: the
// top-level blocks in rootSchema's order. A top-level block this function
// does not know is a programming error (TestLanguageCoversEveryBlock).
func Language(reg *steps.Registry) []*Block {
	if reg == nil {
		reg = steps.Default
	}
	var kinds []*Block
	for _, n := range reg.Names() {
		k, _ := reg.Lookup(n)
		kinds = append(kinds, &Block{Type: n, Spec: k.Spec()})
	}
	retry := &Block{Type: "retry", Attributes: retrySchema.Attributes}
	stage := newStageSchemas(reg).stage.BodySchema
	bodies := map[string]*Block{
		"pipeline": {Attributes: pipelineSchema.Attributes},
		"variable": {Attributes: variableSchema.Attributes, Multiple: true,
			Blocks: []*Block{{Type: "validation", Attributes: validationSchema.Attributes, Multiple: true}}},
		"locals":   {AnyAttributes: true, Multiple: true},
		"defaults": {Attributes: defaultsSchema.Attributes, Blocks: []*Block{retry}},
		"analysis": {Spec: reg.AnalysisSpec(), Multiple: true},
		"stage": {Attributes: stage.Attributes, Multiple: true,
			Blocks: append([]*Block{retry, {Type: "undo", Blocks: kinds}}, kinds...)},
		"output": {Attributes: outputSchema.Attributes, Multiple: true},
		"notify": {Attributes: notifySchema.Attributes, Multiple: true},
		"target": {Attributes: targetSchema.Attributes, Multiple: true},
		"wave":   {Attributes: waveSchema.Attributes, Multiple: true},
	}
	var out []*Block
	for _, h := range rootSchema.Blocks {
		b, ok := bodies[h.Type]
		if !ok {
			panic(fmt.Sprintf("config.Language: no body for top-level block %q", h.Type))
		}
		b.Type, b.Labels = h.Type, h.LabelNames
		out = append(out, b)
	}
	return out
}
