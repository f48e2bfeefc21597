package analysis

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutoverhq/cutover/steps"
	stepkube "github.com/cutoverhq/cutover/steps/kube"
)

// Permissions of verify (steps.Permissioner): only the kubernetes provider
// reads the cluster — the object it measures (get) and, for a workload, the
// pods its selector picks (list). The other providers speak HTTP or run a
// command, and need no rule.
func (verifyKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	cfg, _ = cfg.UnmarkDeep()
	name := "inline analysis"
	if ref := steps.Attr(cfg, "analysis"); !ref.IsNull() {
		a := steps.AnalysisOf(ref)
		if a == nil {
			return nil, nil // not known before the run
		}
		ectx := withResult(nil, cty.DynamicVal)
		if env != nil && env.EvalContext != nil {
			ectx = withResult(env.EvalContext, cty.DynamicVal)
		}
		v, diags := hcldec.Decode(a.Body, AnalysisSpec(), ectx)
		if diags.HasErrors() {
			return nil, fmt.Errorf("analysis %s: %s", a.Name, diags.Error())
		}
		cfg, _ = v.UnmarkDeep()
		name = "analysis " + a.Name
	}
	k := steps.Attr(cfg, "kubernetes")
	if k.IsNull() {
		return nil, nil
	}
	kind, note := "Deployment", " (kind not known without its variables: assumed Deployment)"
	if v := steps.Attr(k, "kind"); k.IsKnown() && v.IsKnown() && !v.IsNull() {
		kind, note = v.AsString(), ""
		if av := steps.Attr(k, "api_version"); av.IsKnown() && !av.IsNull() {
			gv, err := schema.ParseGroupVersion(av.AsString())
			if err != nil {
				return nil, fmt.Errorf("%s: api_version %q: %w", name, av.AsString(), err)
			}
			if gv.Group == "" {
				kind = gv.Version + "/" + kind
			} else {
				kind = gv.Group + "/" + gv.Version + "/" + kind
			}
		}
	}
	r, err := stepkube.ResourceOf(env, kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	why := strings.TrimSpace(fmt.Sprintf("%s measures %s %s", name, kind, steps.Str(k, "name"))) + note
	out := []steps.Permission{{APIGroup: r.Group, Resource: r.Resource, Verbs: []string{"get"}, Why: why}}
	if !(r.Group == "" && r.Resource == "pods") {
		out = append(out, steps.Permission{Resource: "pods", Verbs: []string{"list"}, Why: why + ": its pods"})
	}
	return out, nil
}
