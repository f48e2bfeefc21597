package config

import (
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/steps"
)

// Stage is a `stage "NAME" {}` block.
type Stage struct {
	Name      string
	DependsOn []hcl.Traversal
	// DependsOnEach are depends_on's stage.NAME[each.key], by stage name.
	DependsOnEach []DependsOnEach
	// ForEach makes the stage one instance per element (nil: one stage);
	// Sequential chains the instances in the collection's order.
	ForEach    hcl.Expression
	Sequential bool
	When       hcl.Expression // nil: always
	Timeout    hcl.Expression // nil: the defaults block's, else no limit per attempt
	Retry      *Retry         // nil: the defaults block's, else one attempt
	Step       *Step
	Undo       *Undo // nil: the step's built-in undo
	DeclRange  hcl.Range

	// Deps are the stages this one waits for: depends_on plus every stage
	// its expressions refer to, in source order, without duplicates. Filled
	// by checkReferences.
	Deps []string
	// Keyed holds, for a dependency on a stage with for_each that this one
	// names only by instance (stage.NAME["KEY"]), the keys it names: it
	// waits for those instances only. A dependency absent from Keyed is on
	// every instance.
	Keyed map[string][]InstanceRef
}

// DependsOnEach is stage.NAME[each.key] in depends_on.
type DependsOnEach struct {
	Name  string
	Range hcl.Range
}

// InstanceRef is a reference to one instance of a stage with for_each.
type InstanceRef struct {
	Key string
	// Each: the reference is stage.NAME[each.key], in a stage with
	// for_each: each instance waits for the instance of the same key.
	Each  bool
	Range hcl.Range
}

// Step is the one step block of a stage (or of an undo block).
type Step struct {
	Kind steps.Kind
	// Spec is Kind.Spec(), asked once per kind and Load: building a spec
	// can cost more than decoding a small block with it.
	Spec      hcldec.Spec
	Body      hcl.Body
	DeclRange hcl.Range

	vars *varPlan // Spec's, nil: hcldec.Variables reads it
}

// Variables returns the references of the step block's expressions:
// hcldec.Variables(Body, Spec).
func (st *Step) Variables() []hcl.Traversal { return st.vars.variables(st.Body, st.Spec) }

// Undo is a stage's `undo {}` block. A nil Step means "nothing to undo".
type Undo struct {
	Step      *Step
	DeclRange hcl.Range
}

// Retry is a stage's `retry {}` block; its settings may use variables.
type Retry struct {
	Attempts  hcl.Expression
	Backoff   hcl.Expression
	Delay     hcl.Expression
	MaxDelay  hcl.Expression
	Jitter    hcl.Expression
	Timeouts  hcl.Expression
	DeclRange hcl.Range
}

// retrySchema is indexed: every stage of a large pipeline has a retry block.
var retrySchema = indexSchema(&hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "attempts"}, {Name: "backoff"}, {Name: "delay"}, {Name: "max_delay"}, {Name: "jitter"}, {Name: "timeouts"},
	},
})

// stageSchemas are the schemas of a stage block and of an undo block: one
// block type per registered step kind, built once per Load.
type stageSchemas struct {
	reg         *steps.Registry
	stage, undo *indexedSchema
	mu          sync.Mutex // stages are decoded in parallel
	specs       map[string]kindSpec
}

// kindSpec is a kind's spec, and where its references are.
type kindSpec struct {
	spec hcldec.Spec
	vars *varPlan
}

func newStageSchemas(reg *steps.Registry) *stageSchemas {
	var kinds []hcl.BlockHeaderSchema
	for _, n := range reg.Names() {
		kinds = append(kinds, hcl.BlockHeaderSchema{Type: n})
	}
	stage := &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "depends_on"}, {Name: "for_each"}, {Name: "sequential"}, {Name: "when"}, {Name: "timeout"}},
		Blocks:     append([]hcl.BlockHeaderSchema{{Type: "retry"}, {Type: "undo"}}, kinds...),
	}
	return &stageSchemas{reg: reg, stage: indexSchema(stage), undo: indexSchema(&hcl.BodySchema{Blocks: kinds}), specs: map[string]kindSpec{}}
}

func decodeStageBlock(b *hcl.Block, sc *stageSchemas) (*Stage, hcl.Diagnostics) {
	reg := sc.reg
	s := &Stage{Name: b.Labels[0], DeclRange: b.DefRange}
	diags := validName("stage", s.Name, b.LabelRanges[0])
	content, d := sc.stage.content(b.Body)
	diags = append(diags, unknownStepHint(d, reg)...)
	s.When = content.Expr("when")
	s.Timeout = content.Expr("timeout")
	s.ForEach = content.Expr("for_each")
	if a := content.Attr("sequential"); a != nil {
		diags = append(diags, decodeLiteral(a, cty.Bool, func(v cty.Value) { s.Sequential = v.True() })...)
		if s.ForEach == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "sequential without for_each",
				Detail:  "sequential chains the instances of a stage with for_each; this stage has no for_each.",
				Subject: a.Range.Ptr(),
			})
		}
	}
	if a := content.Attr("depends_on"); a != nil {
		trs, each, d := decodeDependsOn(a)
		diags = append(diags, d...)
		s.DependsOn, s.DependsOnEach = trs, each
	}
	var stepBlocks []*hcl.Block
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "retry":
			diags = append(diags, decodeRetryInto(&s.Retry, blk)...)
		case "undo":
			if s.Undo != nil {
				diags = append(diags, duplicate("undo block", "", s.Undo.DeclRange, blk.DefRange))
				continue
			}
			u, d := decodeUndoBlock(blk, sc)
			diags = append(diags, d...)
			s.Undo = u
		default:
			stepBlocks = append(stepBlocks, blk)
		}
	}
	switch len(stepBlocks) {
	case 0:
		if !d.HasErrors() { // an unknown block type was already reported
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Stage has no step",
				Detail:   fmt.Sprintf("Stage %q must hold exactly one step block, one of: %s.", s.Name, strings.Join(reg.Names(), ", ")),
				Subject:  b.DefRange.Ptr(),
			})
		}
	case 1:
	default:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Stage has more than one step",
			Detail:   fmt.Sprintf("Stage %q holds %s block already; a stage does exactly one thing. Split the work into stages and connect them with depends_on.", s.Name, words.A(fmt.Sprintf("%q", stepBlocks[0].Type))),
			Subject:  stepBlocks[1].DefRange.Ptr(),
		})
	}
	if len(stepBlocks) > 0 {
		s.Step = sc.newStep(stepBlocks[0])
	}
	return s, diags
}

// decodeRetryInto decodes a retry block (of a stage or of defaults) into
// *dst; a second one is a duplicate.
func decodeRetryInto(dst **Retry, b *hcl.Block) hcl.Diagnostics {
	if *dst != nil {
		return hcl.Diagnostics{duplicate("retry block", "", (*dst).DeclRange, b.DefRange)}
	}
	rc, diags := retrySchema.content(b.Body)
	*dst = &Retry{
		Attempts: rc.Expr("attempts"), Backoff: rc.Expr("backoff"),
		Delay: rc.Expr("delay"), MaxDelay: rc.Expr("max_delay"),
		Jitter: rc.Expr("jitter"), Timeouts: rc.Expr("timeouts"), DeclRange: b.DefRange,
	}
	return diags
}

func (sc *stageSchemas) newStep(b *hcl.Block) *Step {
	k, ok := sc.reg.Lookup(b.Type)
	st := &Step{Kind: k, Body: b.Body, DeclRange: b.DefRange}
	if ok {
		sc.mu.Lock()
		ks, ok := sc.specs[b.Type]
		if !ok {
			ks.spec = k.Spec()
			ks.vars = planVariables(ks.spec)
			sc.specs[b.Type] = ks
		}
		sc.mu.Unlock()
		st.Spec, st.vars = ks.spec, ks.vars
	}
	return st
}

func decodeUndoBlock(b *hcl.Block, sc *stageSchemas) (*Undo, hcl.Diagnostics) {
	reg := sc.reg
	u := &Undo{DeclRange: b.DefRange}
	content, diags := sc.undo.content(b.Body)
	diags = unknownStepHint(diags, reg)
	switch len(content.Blocks) {
	case 0:
	case 1:
		u.Step = sc.newStep(content.Blocks[0])
	default:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Undo has more than one step",
			Detail:   "An undo block holds at most one step block; leave it empty for \"nothing to undo\".",
			Subject:  content.Blocks[1].DefRange.Ptr(),
		})
	}
	return u, diags
}

// unknownStepHint adds the list of step kinds to hcl's "Unsupported block
// type" diagnostics, which otherwise only suggest one close name.
func unknownStepHint(diags hcl.Diagnostics, reg *steps.Registry) hcl.Diagnostics {
	for _, d := range diags {
		if d.Summary == "Unsupported block type" {
			d.Summary = "Unknown step kind"
			d.Detail += fmt.Sprintf(" The step kinds are: %s.", strings.Join(reg.Names(), ", "))
		}
	}
	return diags
}

// decodeDependsOn keeps stage.NAME and stage.NAME[KEY] (one instance of a
// stage with for_each; KEY a literal string or number).
func decodeDependsOn(a *hcl.Attribute) ([]hcl.Traversal, []DependsOnEach, hcl.Diagnostics) {
	exprs, diags := hcl.ExprList(a.Expr)
	var out []hcl.Traversal
	var each []DependsOnEach
	for _, e := range exprs {
		if name, ok := eachIndexed(e); ok {
			each = append(each, DependsOnEach{Name: name, Range: e.Range()})
			continue
		}
		tr, d := hcl.AbsTraversalForExpr(e)
		detail := "depends_on is a list of stages, written as stage.NAME, or stage.NAME[KEY] for one instance of a stage with for_each (stage.NAME[each.key]: the instance of the same key)."
		ok := !d.HasErrors() && tr.RootName() == "stage" && (len(tr) == 2 || len(tr) == 3)
		if ok {
			// stage["x"] and stage[0] are traversals too, but a
			// dependency is named, not computed.
			if _, isAttr := tr[1].(hcl.TraverseAttr); !isAttr {
				ok = false
				if name, named := attrAt(tr, 1); named && hclsyntax.ValidIdentifier(name) {
					detail += fmt.Sprintf(" Write stage.%s.", name)
				}
			}
		}
		if ok && len(tr) == 3 {
			_, ok = instanceKey(tr[2])
		}
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid depends_on",
				Detail:   detail,
				Subject:  e.Range().Ptr(),
			})
			continue
		}
		out = append(out, tr)
	}
	return out, each, diags
}

// eachIndexed matches stage.NAME[each.key].
func eachIndexed(e hcl.Expression) (string, bool) {
	ix, ok := e.(*hclsyntax.IndexExpr)
	if !ok {
		return "", false
	}
	coll, ok1 := ix.Collection.(*hclsyntax.ScopeTraversalExpr)
	key, ok2 := ix.Key.(*hclsyntax.ScopeTraversalExpr)
	if !ok1 || !ok2 || coll.Traversal.RootName() != "stage" || len(coll.Traversal) != 2 || key.Traversal.RootName() != "each" || len(key.Traversal) != 2 {
		return "", false
	}
	name, ok1 := attrAt(coll.Traversal, 1)
	k, ok2 := attrAt(key.Traversal, 1)
	_, isAttr := coll.Traversal[1].(hcl.TraverseAttr)
	return name, ok1 && ok2 && isAttr && k == "key"
}

// instanceKey reads [KEY] after stage.NAME: a known string, or a number,
// which names the instance of its text (stage.weight[25] is
// stage.weight["25"], as for_each over [5, 25] keys its instances).
func instanceKey(t hcl.Traverser) (string, bool) {
	ix, ok := t.(hcl.TraverseIndex)
	if !ok || !ix.Key.IsKnown() || ix.Key.IsNull() {
		return "", false
	}
	k, err := convert.Convert(ix.Key, cty.String)
	if err != nil || ix.Key.Type() == cty.Bool {
		return "", false
	}
	return k.AsString(), true
}
