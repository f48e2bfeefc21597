package workloads

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
		// The run's mark: a run would set its own; a plan has no run, and
		// keeps the live one rather than show it removed.
		if run := env.RunID; run != "" {
			kube.Mark(obj, run)
		} else if run := kube.MarkedBy(live); run != "" {
			kube.Mark(obj, run)
		}
		after, err := c.Apply(ctx, r, obj, true)
		if err != nil {
			return "", steps.APIError(err)
		}
		out = append(out, diffText(r, live, after))
		env.Planned.Leave(r, after)
	}
	return strings.Join(out, "\n"), nil
}

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
	prev, err := currentScale(ctx, c, r)
	if err != nil {
		return "", err
	}
	want := sc.Replicas
	if _, err := setScale(ctx, c, r, want, "", true); err != nil {
		return "", err
	}
	if prev == want {
		return fmt.Sprintf("= unchanged %s: %d replicas", r, want), nil
	}
	return fmt.Sprintf("~ scale %s: %d → %d replicas", r, prev, want), nil
}

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
	if live == nil {
		return "", fmt.Errorf("patch: %s does not exist", r)
	}
	after, err := c.Resource(r).Patch(ctx, r.Name, patchTypes[typ], body,
		metav1.PatchOptions{FieldManager: kube.FieldManager, DryRun: kube.DryRunAll})
	if err != nil {
		return "", steps.APIError(fmt.Errorf("patching %s (%s patch, dry run): %w", r, typ, err))
	}
	return diffText(r, live, after), nil
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
