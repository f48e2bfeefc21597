package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/cutoverhq/cutover/internal/textdiff"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// The Planners below say what a step would change, computed by the API
// server itself: every write is sent as a server-side dry run and its result
// compared with the live object, so defaulting, admission and conflicts are
// those of a real run.

// diffText is "~ ref" followed by the differences between the live object
// and what the server would store, without server-owned fields: their
// YAML, as a unified diff, so a plan reads as the manifests it applies.
func diffText(r kube.Ref, live, after *unstructured.Unstructured) string {
	if live == nil {
		return "+ create " + r.String()
	}
	a, errA := yaml.Marshal(kube.Clean(live).Object)
	b, errB := yaml.Marshal(kube.Clean(after).Object)
	if err := errors.Join(errA, errB); err != nil {
		return fmt.Sprintf("? %s: %v", r, err)
	}
	d := textdiff.Hunks(a, b)
	if d == "" {
		return "= unchanged " + r.String()
	}
	return "~ update " + r.String() + "\n" + indent(strings.TrimRight(d, "\n"))
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func planEnv(env *steps.Env) *steps.Env {
	e := *env
	e.DryRun = true
	return &e
}

func (deployKind) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	dc := newDeployConfig()
	if _, err := steps.Decode(cfg, &dc); err != nil {
		return "", err
	}
	c, err := env.Clients("deploy")
	if err != nil {
		return "", err
	}
	ns := env.NamespaceFor(dc.Namespace, c)
	ms, note, err := dc.objects(env.Dir, ns, ns)
	if err != nil {
		return "", err
	}
	if err := overrideImages(ms, dc.Images); err != nil {
		return "", err
	}
	var out []string
	if note != "" {
		out = append(out, "# "+note)
	}
	for _, m := range applyOrder(ms) {
		obj := m.Object
		mapping, err := kube.MappingFor(c.Mapper, obj.GroupVersionKind())
		if err != nil {
			out = append(out, fmt.Sprintf("? %s %s: %v", obj.GetKind(), obj.GetName(), err))
			continue
		}
		r := kube.RefFor(mapping, objectNamespace(obj, ns), obj.GetName())
		obj.SetNamespace(r.Namespace)
		live, err := c.Get(ctx, r)
		if err != nil {
			return "", steps.APIError(err)
		}
		// What the run starts from: the object as an earlier stage of the
		// plan leaves it, else the live one.
		from, planned := env.Planned.Object(r)
		if !planned {
			from = live
		}
		// The run's mark: a run would set its own; a plan has no run, and
		// keeps the one it starts from rather than show it removed.
		if run := env.RunID; run != "" {
			kube.Mark(obj, run)
		} else if run := kube.MarkedBy(from); run != "" {
			kube.Mark(obj, run)
		}
		// The dry run goes to the live object: the permissions, admission
		// and defaulting of the write, whatever it starts from.
		after, err := c.Apply(ctx, r, obj, true)
		if err != nil {
			return "", steps.APIError(err)
		}
		if planned {
			if after, err = applyOver(from, live, after, obj); err != nil {
				return "", fmt.Errorf("applying %s over what %s leaves: %w", r, strings.Join(env.Planned.KnownAfter(r), ", "), err)
			}
		}
		out = append(out, diffText(r, from, after))
		env.Planned.Leave(r, after)
	}
	return strings.Join(out, "\n"), nil
}

// applyOver is what applying manifest leaves of planned, the object as
// an earlier stage of the plan leaves it, when the server's dry run of the
// apply went to live (nil: not there yet) and returned after: the changes
// the apply makes to live (with the server's defaults), then the
// manifest's own fields, which an apply sets whatever they were (an
// earlier deploy's image put back). Fields an earlier stage set that the
// manifest does not name are kept, as an apply keeps another writer's.
func applyOver(planned, live, after, manifest *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	base := &unstructured.Unstructured{Object: map[string]any{}}
	if live != nil {
		base = kube.Clean(live)
	}
	changes, err := twoWayPatch(base, kube.Clean(after))
	if err != nil {
		return nil, err
	}
	out, err := patchLocally(planned, "strategic", changes)
	if err != nil {
		return nil, err
	}
	own, err := json.Marshal(manifest.Object)
	if err != nil {
		return nil, err
	}
	return patchLocally(out, "strategic", own)
}

// twoWayPatch is the patch from a to b that patchLocally's strategic
// merge applies: by the kind's Go type, else a merge patch.
func twoWayPatch(a, b *unstructured.Unstructured) ([]byte, error) {
	ja, err := json.Marshal(a.Object)
	if err != nil {
		return nil, err
	}
	jb, err := json.Marshal(b.Object)
	if err != nil {
		return nil, err
	}
	if typed, err := scheme.Scheme.New(b.GroupVersionKind()); err == nil {
		return strategicpatch.CreateTwoWayMergePatch(ja, jb, typed)
	}
	return jsonpatch.CreateMergePatch(ja, jb)
}

// Plan says what the replica count would become, from the count the
// stages before it leave (a deploy that creates or changes the workload),
// as the run does; the dry run of the write goes to the live object.
func (scaleKind) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	sc := newScaleConfig()
	if _, err := steps.Decode(cfg, &sc); err != nil {
		return "", err
	}
	c, err := env.Clients("scale")
	if err != nil {
		return "", err
	}
	r, err := ref(c, sc.Kind, env.NamespaceFor(sc.Namespace, c), sc.Name)
	if err != nil {
		return "", err
	}
	want := sc.Replicas
	obj, planned := env.Planned.Object(r)
	var prev int64
	switch live, err := c.Get(ctx, r); {
	case err != nil:
		return "", steps.APIError(err)
	case live != nil:
		if prev, err = currentScale(ctx, c, r); err != nil {
			return "", err
		}
		if _, err := setScale(ctx, c, r, want, "", true); err != nil {
			return "", err
		}
	case !planned:
		if after := env.Planned.KnownAfter(r); len(after) > 0 {
			return fmt.Sprintf("~ scale %s: (known after %s) → %d replicas", r, strings.Join(after, ", "), want), nil
		}
		return "", fmt.Errorf("scale: %s does not exist", r)
	}
	if planned {
		prev = replicasOf(obj)
		next := obj.DeepCopy()
		if err := unstructured.SetNestedField(next.Object, want, "spec", "replicas"); err == nil {
			env.Planned.Leave(r, next)
		}
	}
	if prev == want {
		return fmt.Sprintf("= unchanged %s: %d replicas", r, want), nil
	}
	return fmt.Sprintf("~ scale %s: %d → %d replicas", r, prev, want), nil
}

// replicasOf is a workload's spec.replicas, 1 when unset (the default).
func replicasOf(obj *unstructured.Unstructured) int64 {
	n, found, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
	if !found {
		return 1
	}
	return n
}

// Plan says what the patch would change: of the object as the stages
// before it leave it, patched here as the API server would, when one
// writes it; else the live object's server-side dry run.
func (patchKind) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	pc := newPatchConfig()
	if _, err := steps.Decode(cfg, &pc); err != nil {
		return "", err
	}
	typ := pc.Type
	body, err := patchBytes(pc.Patch, typ)
	if err != nil {
		return "", err
	}
	c, err := env.Clients("patch")
	if err != nil {
		return "", err
	}
	r, err := ref(c, pc.Kind, env.NamespaceFor(pc.Namespace, c), pc.Name)
	if err != nil {
		return "", err
	}
	live, err := c.Get(ctx, r)
	if err != nil {
		return "", steps.APIError(err)
	}
	var after *unstructured.Unstructured
	if live != nil {
		// Against the live object: the permissions and admission of the
		// write, whatever it starts from.
		after, err = c.Resource(r).Patch(ctx, r.Name, patchTypes[typ], body,
			metav1.PatchOptions{FieldManager: kube.FieldManager, DryRun: kube.DryRunAll})
		if err != nil {
			return "", steps.APIError(fmt.Errorf("patching %s (%s patch, dry run): %w", r, typ, err))
		}
	}
	if obj, ok := env.Planned.Object(r); ok {
		if after, err = patchAsLeft(env, r, obj, typ, body); err != nil {
			return "", err
		}
		live = obj
	}
	if after == nil {
		if by := env.Planned.KnownAfter(r); len(by) > 0 {
			return fmt.Sprintf("~ patch %s: (known after %s)", r, strings.Join(by, ", ")), nil
		}
		return "", fmt.Errorf("patch: %s does not exist", r)
	}
	env.Planned.Leave(r, after)
	return diffText(r, live, after), nil
}

// patchAsLeft patches obj, r as the stages before this one leave it
// (steps.Planned), as the API server would.
func patchAsLeft(env *steps.Env, r kube.Ref, obj *unstructured.Unstructured, typ string, body []byte) (*unstructured.Unstructured, error) {
	after, err := patchLocally(obj, typ, body)
	if err != nil {
		return nil, fmt.Errorf("patching %s (%s patch) as %s leaves it: %w", r, typ, strings.Join(env.Planned.KnownAfter(r), ", "), err)
	}
	return after, nil
}

// patchLocally applies a patch of type typ to obj as the API server
// would: a strategic merge by the kind's Go type (a merge patch for a
// kind the client does not know).
func patchLocally(obj *unstructured.Unstructured, typ string, body []byte) (*unstructured.Unstructured, error) {
	orig, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch typ {
	case "json":
		p, err := jsonpatch.DecodePatch(body)
		if err != nil {
			return nil, err
		}
		out, err = p.Apply(orig)
		if err != nil {
			return nil, err
		}
	case "strategic":
		if typed, err := scheme.Scheme.New(obj.GroupVersionKind()); err == nil {
			out, err = strategicpatch.StrategicMergePatch(orig, body, typed)
			if err != nil {
				return nil, err
			}
			break
		}
		fallthrough
	default:
		if out, err = jsonpatch.MergePatch(orig, body); err != nil {
			return nil, err
		}
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func (deleteKind) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	// The dry-run delete of Run checks permissions and preconditions.
	if _, err := (deleteKind{}).Run(ctx, planEnv(env), cfg); err != nil {
		return "", err
	}
	dc := newDeleteConfig()
	if _, err := steps.Decode(cfg, &dc); err != nil {
		return "", err
	}
	c, err := env.Clients("delete")
	if err != nil {
		return "", err
	}
	r, err := ref(c, dc.Kind, env.NamespaceFor(dc.Namespace, c), dc.Name)
	if err != nil {
		return "", err
	}
	return "- delete " + r.String(), nil
}
