package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"sigs.k8s.io/yaml"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// stageManifests renders what a stage would apply, for plan
// --show-manifests: each document as YAML after a comment naming the stage,
// its source and the object. Secrets are never shown (docs/design.md,
// "Charts and overlays"): an input marked sensitive is left out of the
// rendering and shown as (sensitive), and a Secret's data values as
// (hidden).
func (p *Program) stageManifests(r steps.Renderer, st *Stage, evalCtx *hcl.EvalContext) []string {
	head := "# stage " + st.Name
	cfg, diags := hcldec.Decode(st.Step.Body, st.Step.Spec, evalCtx)
	if diags.HasErrors() {
		return []string{head + ": (error: " + diagText(diags) + ")"}
	}
	if !cfg.IsWhollyKnown() {
		return []string{head + ": (known at run time: depends on earlier stages; not rendered)"}
	}
	cfg, hidden := withoutSensitive(cfg)
	var out []string
	for _, path := range hidden {
		out = append(out, head+", "+path+": (sensitive)")
	}
	ms, err := r.Render(p.Config.Dir, p.Namespace, cfg)
	if err != nil {
		return append(out, head+": (error: "+err.Error()+")")
	}
	for _, m := range ms {
		hideSecretData(m)
		b, err := yaml.Marshal(m.Object.Object)
		if err != nil {
			b = []byte("# (error: " + err.Error() + ")\n")
		}
		out = append(out, fmt.Sprintf("%s, %s: %s/%s\n%s", head, m.Source, m.Object.GetKind(), m.Object.GetName(), b))
	}
	return out
}

// withoutSensitive is cfg with every value marked sensitive emptied (a
// string becomes "", anything else null), and the paths of those values.
func withoutSensitive(cfg cty.Value) (cty.Value, []string) {
	cfg, pvms := cfg.UnmarkDeepWithPaths()
	var paths []cty.Path
	for _, pvm := range pvms {
		if _, ok := pvm.Marks[Sensitive]; ok {
			paths = append(paths, pvm.Path)
		}
	}
	if len(paths) == 0 {
		return cfg, nil
	}
	cfg, _ = cty.Transform(cfg, func(path cty.Path, v cty.Value) (cty.Value, error) {
		if !slices.ContainsFunc(paths, path.Equals) {
			return v, nil
		}
		if v.Type() == cty.String {
			return cty.StringVal(""), nil
		}
		return cty.NullVal(v.Type()), nil
	})
	names := make([]string, len(paths))
	for i, path := range paths {
		names[i] = pathText(path)
	}
	slices.Sort(names)
	return cfg, names
}

// pathText is a path in a step block as HCL writes it: manifests[1].
func pathText(path cty.Path) string {
	var b strings.Builder
	for _, s := range path {
		switch s := s.(type) {
		case cty.GetAttrStep:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Name)
		case cty.IndexStep:
			if s.Key.Type() == cty.String {
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			} else {
				fmt.Fprintf(&b, "[%s]", s.Key.AsBigFloat().String())
			}
		}
	}
	return b.String()
}

// hideSecretData replaces the values of a Secret's data and stringData by
// (hidden), keeping the keys.
func hideSecretData(m kube.Manifest) {
	o := m.Object
	if o.GetKind() != "Secret" || o.GroupVersionKind().Group != "" {
		return
	}
	for _, field := range []string{"data", "stringData"} {
		d, ok := o.Object[field].(map[string]any)
		if !ok {
			continue
		}
		for _, k := range slices.Collect(maps.Keys(d)) {
			d[k] = "(hidden)"
		}
	}
}
