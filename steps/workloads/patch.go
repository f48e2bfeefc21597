package workloads

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/kube"
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

func (patchKind) Doc() string {
	return "Patches one object, as `kubectl patch` does: a JSON merge patch (default), a strategic merge patch " +
		"or a JSON patch. The object's previous state is journaled first, and the undo restores it."
}

func (patchKind) AttrDocs() map[string]string {
	return withNamed(map[string]string{
		"kind":  "The object's kind (`Service`, `deploy`, any kind the cluster serves).",
		"type":  "`merge` (default), `strategic` or `json`.",
		"patch": "The patch: an HCL object (merge, strategic), a list of operations (json), or the same as a JSON string.",
	})
}

// patchConfig is the patch block.
type patchConfig struct {
	Kind string `hcl:"kind,required"`
	named
	Type string `hcl:"type"`
	// A JSON string, or an HCL object (merge, strategic) or tuple (json).
	Patch cty.Value `hcl:"patch,required"`
}

func newPatchConfig() patchConfig { return patchConfig{Type: "merge"} }

var patchSpec = steps.SpecFor[patchConfig]()

func (patchKind) Spec() hcldec.Spec { return patchSpec }

func (patchKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"previous": cty.DynamicPseudoType})
}

var patchTypes = map[string]types.PatchType{
	"merge":     types.MergePatchType,
	"strategic": types.StrategicMergePatchType,
	"json":      types.JSONPatchType,
}

func (patchKind) Check(cfg cty.Value) []steps.Problem {
	pc := newPatchConfig()
	u, err := steps.Decode(cfg, &pc)
	out := steps.ProblemsOf(err)
	if !u.Has("type") {
		if _, ok := patchTypes[pc.Type]; !ok {
			out = append(out, steps.Problem{Path: []string{"type"}, Summary: "Invalid patch type",
				Detail: fmt.Sprintf("type must be \"merge\", \"strategic\" or \"json\", not %q", pc.Type)})
		}
	}
	if !u.Has("patch") && !pc.Patch.IsNull() {
		typ := pc.Type
		if u.Has("type") {
			typ = "merge"
		}
		if _, err := patchBytes(pc.Patch, typ); err != nil {
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
	pc := newPatchConfig()
	if _, err := steps.Decode(cfg, &pc); err != nil {
		return cty.NilVal, err
	}
	typ := pc.Type
	pt, ok := patchTypes[typ]
	if !ok {
		return cty.NilVal, fmt.Errorf("type must be \"merge\", \"strategic\" or \"json\", not %q", typ)
	}
	body, err := patchBytes(pc.Patch, typ)
	if err != nil {
		return cty.NilVal, err
	}
	c, err := env.Clients("patch")
	if err != nil {
		return cty.NilVal, err
	}
	r, err := ref(c, pc.Kind, env.NamespaceFor(pc.Namespace, c), pc.Name)
	if err != nil {
		return cty.NilVal, err
	}
	if env.DryRun {
		obj, err := env.StartingPlanned(ctx, c, r)
		switch {
		case err != nil:
			return cty.NilVal, err
		case obj != nil:
			// Patched here as the API server would, then checked by it
			// (steps.Env.Rehearse): the object exists only in the
			// rehearsal, or the stages before change it first.
			after, err := patchAsLeft(env, r, obj, typ, body)
			if err != nil {
				return cty.NilVal, err
			}
			if _, err := env.Rehearse(ctx, c, r, after); err != nil {
				return cty.NilVal, err
			}
			env.Report("patched " + r.String() + " (dry run)")
			return cty.ObjectVal(map[string]cty.Value{"previous": objectVal(kube.Clean(obj))}), nil
		}
	}
	snap, live, err := c.Capture(ctx, r)
	if err != nil {
		return cty.NilVal, steps.APIError(err)
	}
	if live == nil {
		return cty.NilVal, fmt.Errorf("patch: %s does not exist", r)
	}
	body, fields, err := markedPatch(body, typ, env.RunID)
	if err != nil {
		return cty.NilVal, err
	}
	snap.Fields = fields
	if !env.DryRun {
		if err := steps.RecordBefore(env, snap); err != nil {
			return cty.NilVal, err
		}
	}
	opts := metav1.PatchOptions{FieldManager: kube.FieldManager}
	if env.DryRun {
		opts.DryRun = kube.DryRunAll
	}
	out, err := c.Resource(r).Patch(ctx, r.Name, pt, body, opts)
	if err != nil {
		return cty.NilVal, steps.APIError(fmt.Errorf("patching %s (%s patch): %w", r, typ, err))
	}
	if !env.DryRun {
		env.Remember(steps.WrittenBy(r, out, fields))
	}
	env.Report("patched " + r.String())
	return cty.ObjectVal(map[string]cty.Value{"previous": objectVal(kube.Clean(live))}), nil
}

// Undo puts the fields the patch set back as they were before the first
// attempt and, for a workload, waits for it to roll back out. Records must
// name the object the stage patches.
func (patchKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	if len(records) == 0 {
		return nil
	}
	c, err := env.Clients("patch undo")
	if err != nil {
		return err
	}
	p, err := namedTarget(env, c, "", true)
	if err != nil {
		return err
	}
	return steps.RestoreObjects(ctx, env, c, records, p)
}

// UndoReleases implements steps.Releaser: the patch held an object's
// controller back (set spec.paused where it was not set: kubectl rollout
// pause), so its undo lets the controller act again, and runs once every
// other compensation has put the object back (docs/design.md, "Undo").
// Undoing a resume (spec.paused back to true) keeps its place.
func (patchKind) UndoReleases(records []json.RawMessage) bool {
	first := map[kube.Ref]bool{}
	for _, raw := range records {
		if _, ok := kube.WrittenOf(raw); ok {
			continue
		}
		var s kube.Snapshot
		if json.Unmarshal(raw, &s) != nil || first[s.Ref] {
			continue
		}
		first[s.Ref] = true // the state before the first attempt is what the undo restores
		if !s.Existed || !kube.Holds(s.Fields) {
			continue
		}
		if prev, err := s.Previous(); err == nil && !kube.Paused(prev) {
			return true
		}
	}
	return false
}

// markedPatch adds the run's mark to a merge or strategic merge patch (one
// more key in the body) and returns the fields the patch sets. A JSON patch
// is sent as given, unmarked: adding an annotation to it needs an "add" whose
// parent map may not exist, and creating that map would replace the
// annotations others set; its fields are the paths of its operations.
func markedPatch(body []byte, typ, run string) ([]byte, map[string]any, error) {
	if typ == "json" {
		var ops []map[string]any
		if err := json.Unmarshal(body, &ops); err != nil {
			return nil, nil, fmt.Errorf("the patch is not a list of operations: %w", err)
		}
		return body, jsonPatchFields(ops), nil
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, nil, fmt.Errorf("the patch is not a JSON object: %w", err)
	}
	if run != "" {
		markPatch(m, run)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	return out, kube.FieldsOf(m), nil
}

// markPatch sets the run's annotation in a merge patch body, unless the
// patch removes metadata or the annotations whole (null), which a mark
// would turn into a merge.
func markPatch(m map[string]any, run string) {
	v, present := m["metadata"]
	if present && v == nil {
		return
	}
	md, ok := v.(map[string]any)
	if !present {
		md, ok = map[string]any{}, true
		m["metadata"] = md
	}
	if !ok {
		return
	}
	a, present := md["annotations"]
	if present && a == nil {
		return
	}
	ann, ok := a.(map[string]any)
	if !present {
		ann, ok = map[string]any{}, true
		md["annotations"] = ann
	}
	if ok {
		ann[kube.AnnotationRun] = run
	}
}

// jsonPatchFields is the field tree of a JSON patch's operations: each path
// (and the source of a move) down to its first list index, which is a leaf,
// since lists are restored whole.
func jsonPatchFields(ops []map[string]any) map[string]any {
	fields := map[string]any{}
	add := func(path string) {
		if path == "" || path == "/" {
			return
		}
		segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
		node := fields
		for i, seg := range segs {
			seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
			last := i == len(segs)-1 || isIndex(segs[i+1])
			if last {
				node[seg] = true
				return
			}
			next, ok := node[seg].(map[string]any)
			if !ok {
				if node[seg] == true {
					return // already covered whole
				}
				next = map[string]any{}
				node[seg] = next
			}
			node = next
		}
	}
	for _, op := range ops {
		if o, _ := op["op"].(string); o == "test" {
			continue
		}
		p, _ := op["path"].(string)
		add(p)
		if from, ok := op["from"].(string); ok && op["op"] == "move" {
			add(from)
		}
	}
	delete(fields, "apiVersion")
	delete(fields, "kind")
	return fields
}

func isIndex(seg string) bool {
	if seg == "-" {
		return true
	}
	if seg == "" {
		return false
	}
	for _, r := range seg {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
