package kube

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	k8s "github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(patchKind{}) }

// patchKind patches one object, like `kubectl patch`.
//
//	patch {
//	  kind  = "service"
//	  name  = "web"
//	  patch = { spec = { selector = { version = "v2" } } }   # or a JSON string
//	}
type patchKind struct{}

func (patchKind) Name() string { return "patch" }

func (patchKind) Spec() hcldec.Spec {
	return &hcldec.ObjectSpec{
		"kind":      &hcldec.AttrSpec{Name: "kind", Type: cty.String, Required: true},
		"name":      &hcldec.AttrSpec{Name: "name", Type: cty.String, Required: true},
		"namespace": &hcldec.AttrSpec{Name: "namespace", Type: cty.String},
		"type":      &hcldec.AttrSpec{Name: "type", Type: cty.String},
		// A JSON string, or an HCL object (merge, strategic) or tuple (json).
		"patch": &hcldec.AttrSpec{Name: "patch", Type: cty.DynamicPseudoType, Required: true},
	}
}

func (patchKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"previous": cty.DynamicPseudoType})
}

var patchTypes = map[string]types.PatchType{
	"merge":     types.MergePatchType,
	"strategic": types.StrategicMergePatchType,
	"json":      types.JSONPatchType,
}

func (patchKind) Check(cfg cty.Value) []steps.Problem {
	var out []steps.Problem
	t := steps.Attr(cfg, "type")
	if !t.IsNull() && t.IsKnown() {
		if _, ok := patchTypes[t.AsString()]; !ok {
			out = append(out, steps.Problem{Path: []string{"type"}, Summary: "Invalid patch type",
				Detail: fmt.Sprintf("type must be \"merge\", \"strategic\" or \"json\", not %q", t.AsString())})
		}
	}
	if p := steps.Attr(cfg, "patch"); p.IsWhollyKnown() && !p.IsNull() {
		typ := "merge"
		if !t.IsNull() && t.IsKnown() {
			typ = t.AsString()
		}
		if _, err := patchBytes(p, typ); err != nil {
			out = append(out, steps.Problem{Path: []string{"patch"}, Summary: "Invalid patch", Detail: err.Error()})
		}
	}
	return out
}

// patchBytes is the patch as JSON: a string is taken as JSON text, any
// other value is encoded. A JSON patch must be a list of operations, the
// others an object.
func patchBytes(v cty.Value, typ string) ([]byte, error) {
	var raw []byte
	if v.Type() == cty.String {
		raw = []byte(v.AsString())
	} else {
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return nil, fmt.Errorf("encoding the patch as JSON: %w", err)
		}
		raw = b
	}
	var decoded any
	if err := json.Unmarshal(raw, &decoded); err != nil {
		return nil, fmt.Errorf("the patch is not valid JSON: %w", err)
	}
	switch decoded.(type) {
	case []any:
		if typ != "json" {
			return nil, fmt.Errorf("a %s patch is an object; a list of operations needs type = \"json\"", typ)
		}
	case map[string]any:
		if typ == "json" {
			return nil, fmt.Errorf("a json patch is a list of operations such as [{op = \"replace\", path = \"/spec/replicas\", value = 3}]")
		}
	default:
		return nil, fmt.Errorf("the patch must be an object (or a list of operations for type = \"json\")")
	}
	return raw, nil
}

func (patchKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	typ := steps.Str(cfg, "type")
	if typ == "" {
		typ = "merge"
	}
	pt, ok := patchTypes[typ]
	if !ok {
		return cty.NilVal, fmt.Errorf("type must be \"merge\", \"strategic\" or \"json\", not %q", typ)
	}
	body, err := patchBytes(steps.Attr(cfg, "patch"), typ)
	if err != nil {
		return cty.NilVal, err
	}
	c, err := clients(env, "patch")
	if err != nil {
		return cty.NilVal, err
	}
	r, err := ref(c, steps.Str(cfg, "kind"), namespace(env, cfg, c), steps.Str(cfg, "name"))
	if err != nil {
		return cty.NilVal, err
	}
	snap, live, err := c.Capture(ctx, r)
	if err != nil {
		return cty.NilVal, classify(err)
	}
	if live == nil {
		return cty.NilVal, fmt.Errorf("patch: %s does not exist", r)
	}
	if !env.DryRun {
		if err := record(env, snap); err != nil {
			return cty.NilVal, err
		}
	}
	opts := metav1.PatchOptions{FieldManager: k8s.FieldManager}
	if env.DryRun {
		opts.DryRun = k8s.DryRunAll
	}
	if _, err := c.Resource(r).Patch(ctx, r.Name, pt, body, opts); err != nil {
		return cty.NilVal, classify(fmt.Errorf("patching %s (%s patch): %w", r, typ, err))
	}
	env.Report("patched " + r.String())
	return cty.ObjectVal(map[string]cty.Value{"previous": objectVal(k8s.Clean(live))}), nil
}

// Undo replaces the object with its state before the first attempt and, for
// a workload, waits for it to roll back out.
func (patchKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	if len(records) == 0 {
		return nil
	}
	c, err := clients(env, "patch undo")
	if err != nil {
		return err
	}
	return restoreAll(ctx, env, c, records)
}
