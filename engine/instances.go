package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/engine/dag"
	"github.com/cutoverhq/cutover/internal/words"
)

// A stage with for_each is one stage per element of its collection, each
// an instance with its own address, NAME["KEY"]: the graph, the run, the
// events, the journal and the undo all work on instances, so a resumed run
// or an undo finds each by its address (docs/design.md, "Stages with
// for_each").

// instance is one element of a for_each: its key and each.value.
type instance struct {
	key   string
	value cty.Value
}

// Address is how an instance is named everywhere: stage.weight["25"] in
// expressions, weight["25"] in events, the journal and on the command line.
func Address(stage, key string) string {
	return stage + "[" + strconv.Quote(key) + "]"
}

// eachValue is the object each.key and each.value are read from.
func eachValue(in instance) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(in.key), "value": in.value})
}

// forEach evaluates a stage's for_each. known is false when the value waits
// for a variable validate or graph let be unknown: the stage is then
// checked once, with each unknown.
func (p *Program) forEach(cs *config.Stage, ctx *hcl.EvalContext) (out []instance, known bool, diags hcl.Diagnostics) {
	e := cs.ForEach
	invalid := func(detail string) hcl.Diagnostics {
		return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid for_each argument",
			Detail: detail, Subject: e.Range().Ptr(), Expression: e, EvalContext: ctx})
	}
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return nil, false, diags
	}
	if v.HasMark(Sensitive) || v.ContainsMarked() {
		// The keys name the instances in every report and in the journal.
		return nil, false, invalid("A sensitive value, or one derived from it, cannot be a for_each: its keys name the stage's instances in every report.")
	}
	if !v.IsWhollyKnown() {
		if len(p.Missing) > 0 {
			return nil, false, diags
		}
		return nil, false, invalid("The for_each value is not known before the run; it must be, so that plan shows every instance.")
	}
	if v.IsNull() {
		return nil, false, invalid("for_each is a list, set or map, not null.")
	}
	ty := v.Type()
	byKey := map[string]bool{}
	switch {
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		for it := v.ElementIterator(); it.Next(); {
			_, el := it.Element()
			k, err := convert.Convert(el, cty.String)
			if err != nil || el.IsNull() || el.Type() == cty.Bool {
				return nil, false, invalid(fmt.Sprintf("The elements of a list or set for_each name the instances: each must be a string or a number, not %s.", friendly(el)))
			}
			key := k.AsString()
			if byKey[key] {
				return nil, false, invalid(fmt.Sprintf("The element %q appears twice: each element names one instance.", key))
			}
			byKey[key] = true
			out = append(out, instance{key: key, value: el})
		}
	case ty.IsMapType() || ty.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			k, el := it.Element()
			out = append(out, instance{key: k.AsString(), value: el})
		}
	default:
		return nil, false, invalid(fmt.Sprintf("for_each is a list, set or map, not %s.", friendly(v)))
	}
	return out, true, diags
}

func friendly(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return words.A(v.Type().FriendlyName())
}

// expand makes the program's stages from the config's: one per stage
// without for_each, one per instance otherwise, in declaration order.
func (p *Program) expand(static *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	p.instances = map[string][]string{}
	for _, name := range p.Config.StageOrder {
		cs := p.Config.Stages[name]
		if cs.ForEach == nil {
			p.addStage(&Stage{Stage: cs, Name: name})
			continue
		}
		ins, known, d := p.forEach(cs, static)
		diags = append(diags, d...)
		if !known {
			// Checked once, each unknown; no instance is addressed.
			p.addStage(&Stage{Stage: cs, Name: name, each: cty.UnknownVal(cty.Object(map[string]cty.Type{"key": cty.String, "value": cty.DynamicPseudoType}))})
			continue
		}
		p.instances[name] = []string{}
		for _, in := range ins {
			p.addStage(&Stage{Stage: cs, Name: Address(name, in.key), Key: in.key, each: eachValue(in)})
		}
	}
	return diags
}

func (p *Program) addStage(st *Stage) {
	if st.Kind == nil && st.Step != nil {
		st.Kind = st.Step.Kind
	}
	p.Stages[st.Name] = st
	p.stageOrder = append(p.stageOrder, st.Name)
	if st.isInstance() {
		p.instances[st.Stage.Name] = append(p.instances[st.Stage.Name], st.Name)
	}
}

// addresses are the program stages a config stage became.
func (p *Program) addresses(name string) []string {
	if ins, ok := p.instances[name]; ok {
		return ins
	}
	if _, ok := p.Stages[name]; ok {
		return []string{name}
	}
	return nil
}

// link fills every stage's Deps with addresses and builds the graph: a
// dependency on a stage with for_each is on each of its instances, unless
// only some were named (stage.NAME["KEY"], or stage.NAME[each.key]: the
// instance of the same key). An instance of a sequential stage waits for
// the instance before it and for that instance's followers: the
// instances that wait for it by each.key (its gate, say), and theirs — so
// a canary's next weight waits for the previous weight's verification.
func (p *Program) link() hcl.Diagnostics {
	var diags hcl.Diagnostics
	followers := map[string][]string{} // address → instances waiting for it by each.key
	for _, n := range p.stageOrder {
		st := p.Stages[n]
		for _, d := range st.Stage.Deps {
			refs, keyed := st.Keyed[d]
			_, expanded := p.instances[d]
			if !keyed || !expanded {
				st.Deps = append(st.Deps, p.addresses(d)...)
				continue
			}
			for _, ref := range refs {
				key := ref.Key
				if ref.Each {
					if !st.isInstance() {
						continue // each unknown (validate): the whole stage is one vertex
					}
					key = st.Key
				}
				a := Address(d, key)
				if _, ok := p.Stages[a]; !ok {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared stage instance",
						Detail:  fmt.Sprintf("Stage %q has no instance %q: its for_each has %s.", d, key, keysOf(p.instances[d])),
						Subject: ref.Range.Ptr()})
					continue
				}
				st.Deps = appendNew(st.Deps, a)
				if ref.Each {
					followers[a] = append(followers[a], n)
				}
			}
		}
	}
	prev := map[string]string{} // sequential stage → its last instance so far
	for _, n := range p.stageOrder {
		st := p.Stages[n]
		if !st.Sequential || !st.isInstance() {
			continue
		}
		if before, ok := prev[st.Stage.Name]; ok {
			for _, a := range withFollowers(before, followers) {
				st.Deps = appendNew(st.Deps, a)
			}
		}
		prev[st.Stage.Name] = n
	}
	g := dag.NewSized(len(p.stageOrder))
	for _, n := range p.stageOrder {
		g.Add(n)
	}
	for _, n := range p.stageOrder {
		for _, d := range p.Stages[n].Deps {
			g.Connect(n, d)
		}
	}
	if len(followers) > 0 {
		// Stages are acyclic (config checked); followers of a sequential
		// stage can still close a loop between instances.
		for _, cyc := range g.Cycles() {
			first := p.Stages[cyc[0]]
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Stage instances depend on each other in a cycle",
				Detail:  fmt.Sprintf("These instances wait for one another, so none of them could start: %s. A stage that waits for a sequential stage's instance by each.key must not also wait for a later instance.", strings.Join(append(cyc, cyc[0]), " → ")),
				Subject: first.DeclRange.Ptr()})
		}
	}
	p.Graph = g
	p.Order = g.Order()
	return diags
}

// withFollowers is addr and every instance that waits for it by each.key,
// transitively.
func withFollowers(addr string, followers map[string][]string) []string {
	out := []string{addr}
	for i := 0; i < len(out); i++ {
		for _, f := range followers[out[i]] {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func keysOf(addrs []string) string {
	if len(addrs) == 0 {
		return "no elements"
	}
	return strings.Join(addrs, ", ")
}

// isInstance: the stage is one instance of a stage with for_each.
func (st *Stage) isInstance() bool { return st.each != cty.NilVal && st.each.IsKnown() }

// Context is the evaluation context of the stage's own expressions: ctx
// with each bound, for an instance.
func (st *Stage) Context(ctx *hcl.EvalContext) *hcl.EvalContext {
	if st.each == cty.NilVal {
		return ctx
	}
	child := ctx.NewChild()
	child.Variables = map[string]cty.Value{"each": st.each}
	return child
}

// stageValues is the `stage` object for states (addresses → state): a stage
// with for_each is an object of its instances by key.
func (p *Program) stageValues(states map[string]cty.Value) map[string]cty.Value {
	out := make(map[string]cty.Value, len(states))
	byStage := map[string]map[string]cty.Value{}
	for addr, v := range states {
		st := p.Stages[addr]
		switch {
		case st.ForEach == nil:
			out[addr] = v
		case !st.each.IsKnown():
			out[st.Stage.Name] = cty.DynamicVal
		default:
			m := byStage[st.Stage.Name]
			if m == nil {
				m = map[string]cty.Value{}
				byStage[st.Stage.Name] = m
			}
			m[st.Key] = v
		}
	}
	for name, m := range byStage {
		out[name] = cty.ObjectVal(m)
	}
	for name, ins := range p.instances {
		if len(ins) == 0 {
			out[name] = cty.EmptyObjectVal // for_each over nothing
		}
	}
	return out
}
