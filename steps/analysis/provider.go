package analysis

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// Measurer takes measurements for one analysis: what a Provider's New
// builds for one run of a verify.
type Measurer interface {
	// Measure returns the result bound to `result`, a short form of it for
	// the measurement's value, or an error (an Error measurement).
	Measure(ctx context.Context) (result cty.Value, value string, err error)
	// Describe names what is measured, without credentials.
	Describe() string
}

// Provider is all the package knows of one analysis provider. Each
// provider's own file (here, or in any package importing this one)
// registers its definition in init with RegisterProvider; the schema of
// verify and analysis blocks, the load-time checks, the constructor, the
// default verdict and the permissions are all looked up here, so adding a
// provider is adding one file (docs/design.md, "An analysis provider").
type Provider struct {
	// Name is the provider's block type: `http { … }`.
	Name string
	// Doc says what the provider measures and what result it binds, in
	// one paragraph; AttrDocs has a sentence per attribute of Attrs. Both
	// are the reference page's prose (docs/reference/analysis).
	Doc      string
	AttrDocs map[string]string
	// Order places the provider in the lists people read (diagnostics);
	// lower first, ties by name.
	Order int
	// Attrs is the schema of the provider's block, derived from the
	// provider's struct with steps.SpecFor. condition and
	// failure_condition are added to every provider block and must not be
	// in it.
	Attrs hcldec.ObjectSpec
	// Check reports invalid known values of a decoded block, with paths
	// below path (the block's own): what steps.Decode of the provider's
	// struct reports (decodeAt), and checks beyond types. Values not known
	// at load time are unknown and left for New. nil: the schema is check
	// enough.
	Check func(block cty.Value, path []string) []steps.Problem
	// New builds the measurer of one run from its decoded block (known,
	// except conditions); it decodes the block with steps.Decode.
	New func(block cty.Value, env *steps.Env) (Measurer, error)
	// Verdict judges a result when no condition is written. nil when the
	// result has no natural verdict: an analysis of this provider then
	// needs a condition, and ConditionExample shows one.
	Verdict          func(result cty.Value) Phase
	ConditionExample string
	// Permissions are the cluster rules a block needs (steps.Permissioner);
	// analysis names the analysis for the reasons ("analysis X", "inline
	// analysis"). nil: the provider does not read the cluster.
	Permissions func(env *steps.Env, block cty.Value, analysis string) ([]steps.Permission, error)
}

// providers are the registered definitions, in Order. Registration happens
// in init only, so the table is read without a lock.
var providers []*Provider

// RegisterProvider adds def to the table, from an init function, and
// declares the new schema of top-level analysis blocks to the engine, so
// the schema holds every provider whatever the order the init functions run
// in. A definition without a name or constructor, without a verdict or a
// condition example, declaring a condition itself, or a name taken (by a
// provider or an analysis setting) is a programming error and panics.
func RegisterProvider(def *Provider) {
	switch {
	case def.Name == "":
		panic("analysis: a provider needs a name")
	case lookupProvider(def.Name) != nil:
		panic(fmt.Sprintf("analysis: provider %q registered twice", def.Name))
	case settingsAttrs()[def.Name] != nil || def.Name == "analysis":
		panic(fmt.Sprintf("analysis: provider %q would shadow the analysis setting of that name", def.Name))
	case def.New == nil:
		panic(fmt.Sprintf("analysis: provider %q has no constructor", def.Name))
	case def.Verdict == nil && def.ConditionExample == "":
		panic(fmt.Sprintf("analysis: provider %q has no default verdict, so it needs a condition example", def.Name))
	}
	for _, c := range []string{"condition", "failure_condition"} {
		if def.Attrs[c] != nil {
			panic(fmt.Sprintf("analysis: provider %q declares %s itself; every provider block has it", def.Name, c))
		}
	}
	providers = append(providers, def)
	sort.SliceStable(providers, func(i, j int) bool {
		if providers[i].Order != providers[j].Order {
			return providers[i].Order < providers[j].Order
		}
		return providers[i].Name < providers[j].Name
	})
	steps.Default.SetAnalysisSpec(AnalysisSpec())
	steps.Default.SetAnalysisDocs(analysisDocs())
}

// lookupProvider returns the definition registered under name, or nil.
func lookupProvider(name string) *Provider {
	for _, d := range providers {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// providerNames are the registered block types, in Order.
func providerNames() []string {
	out := make([]string, len(providers))
	for i, d := range providers {
		out[i] = d.Name
	}
	return out
}

// blockSpec is the schema of def's block: its attributes and the
// conditions.
func (def *Provider) blockSpec() hcldec.Spec {
	o := hcldec.ObjectSpec{}
	for k, v := range def.Attrs {
		o[k] = v
	}
	return conditionAttrs(o)
}

// check validates the known values of def's block at path.
func (def *Provider) check(block cty.Value, path []string) []steps.Problem {
	if !block.IsKnown() || def.Check == nil {
		return nil
	}
	return def.Check(block, path)
}

// decodeAt decodes a provider's block into dst (steps.Decode) and returns
// what it found wrong with paths below path.
func decodeAt(block cty.Value, dst any, path []string) (steps.Unknown, []steps.Problem) {
	u, err := steps.Decode(block, dst)
	ps := steps.ProblemsOf(err)
	for i := range ps {
		ps[i].Path = append(append([]string{}, path...), ps[i].Path...)
	}
	return u, ps
}

// present returns the definitions whose block cfg (an analysis body
// decoded with settingsSpec) holds, in Order.
func present(cfg cty.Value) []*Provider {
	var out []*Provider
	for _, d := range providers {
		if !blockOf(cfg, d).IsNull() {
			out = append(out, d)
		}
	}
	return out
}

// blockOf is def's block in an analysis body decoded with settingsSpec
// (null when absent).
func blockOf(cfg cty.Value, def *Provider) cty.Value {
	if cfg.IsNull() || !cfg.IsKnown() || !cfg.Type().HasAttribute(def.Name) {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return cfg.GetAttr(def.Name)
}

// newProvider builds the provider of an analysis body that holds exactly
// one provider block (checkSettings has said so).
func newProvider(cfg cty.Value, env *steps.Env) (*Provider, Measurer, error) {
	defs := present(cfg)
	if len(defs) == 0 {
		return nil, nil, fmt.Errorf("no provider block; use one of %v", providerNames())
	}
	p, err := defs[0].New(blockOf(cfg, defs[0]), env)
	if err != nil {
		return nil, nil, err
	}
	return defs[0], p, nil
}

func problem(path []string, name, summary, detail string) steps.Problem {
	return steps.Problem{Path: append(append([]string{}, path...), name), Summary: summary, Detail: detail}
}
