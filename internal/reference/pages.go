package reference

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// documented is what a kind may implement to have prose in its page: what
// it does, and a sentence per attribute ("resource.kind" for a nested one).
// Without it the page has the schema alone.
type documented interface {
	Doc() string
	AttrDocs() map[string]string
}

const generated = "<!-- Generated from the step registry by `go generate ./cmd/cutover`; do not edit. -->\n\n"

// Files are the reference documents, by path under docs/reference: the
// JSON schema, one page per step kind and per analysis provider, and an
// index.
func Files(reg *steps.Registry) (map[string]string, error) {
	schema, err := Schema(reg)
	if err != nil {
		return nil, err
	}
	files := map[string]string{"cutover.schema.json": string(schema)}
	var index strings.Builder
	index.WriteString("# Reference\n\n" + generated)
	index.WriteString("- [Command line](cli.md): every command, its flags and exit codes.\n")
	index.WriteString("- [JSON schema](cutover.schema.json) of a pipeline file (`cutover schema` prints it), for editors and tools.\n")
	index.WriteString("- The language itself: [docs/language.md](../language.md).\n\n## Step kinds\n\n")
	for _, name := range reg.Names() {
		k, _ := reg.Lookup(name)
		files["steps/"+name+".md"] = kindPage(k)
		fmt.Fprintf(&index, "- [`%s`](steps/%s.md)\n", name, name)
	}
	settings, providers := analysisFields(reg.AnalysisSpec())
	docs := reg.AnalysisDocs()
	applyDocs(settings, "", docs)
	applyDocs(providers, "", docs)
	if len(providers) > 0 {
		index.WriteString("\n## Analysis providers\n\nUsed by `verify` stages and top-level `analysis` blocks; their common settings: [analysis/settings.md](analysis/settings.md).\n\n")
		files["analysis/settings.md"] = settingsPage(settings, providers)
		for _, p := range providers {
			files["analysis/"+p.Name+".md"] = providerPage(p)
			fmt.Fprintf(&index, "- [`%s`](analysis/%s.md)\n", p.Name, p.Name)
		}
	}
	files["README.md"] = index.String()
	return files, nil
}

// analysisFields splits the analysis body into its settings (attributes)
// and its providers (one block each).
func analysisFields(spec hcldec.Spec) (settings, providers []field) {
	for _, f := range fieldsOfSpec(spec) {
		if f.Block {
			providers = append(providers, f)
		} else {
			settings = append(settings, f)
		}
	}
	return settings, providers
}

func kindPage(k steps.Kind) string {
	var b strings.Builder
	fields := fieldsOfSpec(k.Spec())
	if d, ok := k.(documented); ok {
		applyDocs(fields, "", d.AttrDocs())
	}
	fmt.Fprintf(&b, "# `%s` step\n\n%s", k.Name(), generated)
	if d, ok := k.(documented); ok && d.Doc() != "" {
		b.WriteString(d.Doc() + "\n\n")
	}
	fmt.Fprintf(&b, "```hcl\nstage \"NAME\" {\n  %s {\n%s  }\n}\n```\n", k.Name(), skeleton(fields, "    "))
	writeFields(&b, "Attributes", fields)
	b.WriteString("\n## Output\n\n")
	if out := k.Output(); out.IsObjectType() && len(out.AttributeTypes()) > 0 {
		b.WriteString("`stage.NAME.output` has:\n\n| attribute | type |\n|---|---|\n")
		names := make([]string, 0, len(out.AttributeTypes()))
		for n := range out.AttributeTypes() {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "| `%s` | `%s` |\n", n, typeName(out.AttributeType(n)))
		}
	} else if out == cty.DynamicPseudoType {
		b.WriteString("`stage.NAME.output` is any value.\n")
	} else {
		fmt.Fprintf(&b, "`stage.NAME.output` is `%s`.\n", typeName(out))
	}
	b.WriteString("\n## Behaviour\n\n")
	_, undo := k.(steps.Undoer)
	_, ro := k.(steps.ReadOnly)
	_, shrinks := k.(steps.Shrinker)
	_, releases := k.(steps.Releaser)
	_, plans := k.(steps.Planner)
	_, perms := k.(steps.Permissioner)
	fmt.Fprintf(&b, "- built-in undo: %s\n", yesNo(undo, "yes, from the state journaled before each write", "none (an `undo {}` block in the stage can give one)"))
	if ro {
		b.WriteString("- changes nothing: running it again is harmless\n")
	}
	if shrinks {
		b.WriteString("- its undo may take capacity away, so it runs after the other compensations\n")
	}
	if releases {
		b.WriteString("- its undo may let a controller act again (spec.paused back to false), so it runs after every other compensation, once what it held is restored\n")
	}
	if plans {
		b.WriteString("- `plan --dry-run=server` shows what it would change\n")
	}
	if perms {
		b.WriteString("- reaches the cluster: `cutover rbac` includes what it needs\n")
	}
	if binds := steps.BindsOf(k); len(binds) > 0 {
		fmt.Fprintf(&b, "- binds `%s` inside its block while it runs\n", strings.Join(binds, "`, `"))
	}
	return b.String()
}

func settingsPage(settings, providers []field) string {
	var b strings.Builder
	b.WriteString("# Analysis settings\n\n" + generated)
	b.WriteString("The body of a top-level `analysis \"NAME\" {}` block and of an inline `verify {}`: these settings, and one provider block.\n")
	writeFields(&b, "Settings", settings)
	b.WriteString("\n## Providers\n\n")
	for _, p := range providers {
		fmt.Fprintf(&b, "- [`%s`](%s.md)\n", p.Name, p.Name)
	}
	return b.String()
}

func providerPage(p field) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# `%s` analysis provider\n\n%s", p.Name, generated)
	if p.Doc != "" {
		b.WriteString(p.Doc + "\n\n")
	}
	fmt.Fprintf(&b, "```hcl\nanalysis \"NAME\" {\n  %s {\n%s  }\n}\n```\n", p.Name, skeleton(p.Fields, "    "))
	b.WriteString("\nOr inline, in a stage's `verify {}`. The analysis settings (interval, count, limits): [settings.md](settings.md).\n")
	writeFields(&b, "Attributes", p.Fields)
	return b.String()
}

// skeleton is the required attributes of a block as HCL, the others as
// comments.
func skeleton(fields []field, indent string) string {
	var b strings.Builder
	for _, f := range fields {
		switch {
		case f.Block && f.Required:
			fmt.Fprintf(&b, "%s%s {\n%s%s}\n", indent, f.Name, skeleton(f.Fields, indent+"  "), indent)
		case f.Block:
			fmt.Fprintf(&b, "%s# %s { … }\n", indent, f.Name)
		case f.Required:
			fmt.Fprintf(&b, "%s%s = …  # %s\n", indent, f.Name, typeName(f.Type))
		default:
			fmt.Fprintf(&b, "%s# %s = …  (%s)\n", indent, f.Name, typeName(f.Type))
		}
	}
	return b.String()
}

// writeFields writes a table of the attributes, then a section per nested
// block.
func writeFields(b *strings.Builder, title string, fields []field) {
	writeTable(b, "## "+title, fields)
	for _, f := range fields {
		if f.Block {
			writeBlock(b, f.Name, f)
		}
	}
}

func writeBlock(b *strings.Builder, path string, f field) {
	how := "one block"
	if f.Multiple {
		how = "repeatable"
	}
	if f.Required {
		how += ", required"
	}
	heading := fmt.Sprintf("### block `%s` (%s)", path, how)
	if f.Doc != "" {
		heading += "\n\n" + f.Doc
	}
	writeTable(b, heading, f.Fields)
	for _, g := range f.Fields {
		if g.Block {
			writeBlock(b, path+"."+g.Name, g)
		}
	}
}

func writeTable(b *strings.Builder, heading string, fields []field) {
	b.WriteString("\n" + heading + "\n\n")
	n := 0
	for _, f := range fields {
		if f.Block {
			continue
		}
		if n == 0 {
			b.WriteString("| attribute | type | required | description |\n|---|---|---|---|\n")
		}
		n++
		fmt.Fprintf(b, "| `%s` | `%s` | %s | %s |\n", f.Name, typeName(f.Type), yesNo(f.Required, "yes", "no"), f.Doc)
	}
	if n == 0 {
		b.WriteString("No attributes of its own.\n")
	}
}

// applyDocs copies a kind's attribute sentences onto its fields.
func applyDocs(fields []field, prefix string, docs map[string]string) {
	for i := range fields {
		path := prefix + fields[i].Name
		fields[i].Doc = docs[path]
		applyDocs(fields[i].Fields, path+".", docs)
	}
}

// Undocumented lists what has no description in the reference: a step
// kind without Doc, an attribute or nested block without a sentence in its
// kind's AttrDocs, an analysis setting, provider or provider attribute
// without one in the registry's AnalysisDocs.
func Undocumented(reg *steps.Registry) []string {
	var out []string
	for _, name := range reg.Names() {
		k, _ := reg.Lookup(name)
		d, ok := k.(documented)
		if !ok || d.Doc() == "" {
			out = append(out, "step kind "+name)
			continue
		}
		out = append(out, missingDocs("step kind "+name+": ", fieldsOfSpec(k.Spec()), "", d.AttrDocs())...)
	}
	if spec := reg.AnalysisSpec(); spec != nil {
		out = append(out, missingDocs("analysis: ", fieldsOfSpec(spec), "", reg.AnalysisDocs())...)
	}
	return out
}

func missingDocs(what string, fields []field, prefix string, docs map[string]string) []string {
	var out []string
	for _, f := range fields {
		path := prefix + f.Name
		if docs[path] == "" {
			out = append(out, what+path)
		}
		out = append(out, missingDocs(what, f.Fields, path+".", docs)...)
	}
	return out
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}
