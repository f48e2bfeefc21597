package workloads

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutoverhq/cutover/internal/render"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(deployKind{}) }

// deployKind server-side applies manifests and waits for the workloads in
// them to roll out.
//
//	deploy {
//	  manifests = [file("app.yaml")]
//	  images    = { app = "registry/app:v2" }
//	}
type deployKind struct{}

func (deployKind) Name() string { return "deploy" }

func (deployKind) Doc() string {
	return "Applies manifests, or what a Helm chart or a Kustomize overlay renders to (in process), to the cluster (server-side apply, any number of documents of any kind) and waits " +
		"until the workloads among them (Deployments, StatefulSets, DaemonSets) have rolled out. Before each write " +
		"the object's previous state is journaled: the undo restores every object as it was and deletes those " +
		"that did not exist."
}

func (deployKind) AttrDocs() map[string]string {
	out := maps.Clone(deployDocs)
	maps.Copy(out, render.Docs)
	return out
}

// deployDocs describe deployConfig's attributes in the reference.
var deployDocs = map[string]string{
	"manifests": "YAML or JSON documents, each string holding one or more (`[file(\"app.yaml\")]`, `templatefile(…)`). Set one of manifests, chart or kustomize.",
	"images":    "Images to set, by container name (`{ app = \"registry/app:v2\" }`), in every workload of the manifests (or of what the chart or overlay rendered); `\":v2\"` sets the tag only, keeping the repository the container has; a name no container has is an error.",
	"namespace": "The namespace of namespaced objects that name none (default: the pipeline's, or the run's `--namespace`).",
	"wait":      "Wait for the workloads to roll out (default true).",
}

// deployConfig is the deploy block.
type deployConfig struct {
	Manifests []string          `hcl:"manifests"`
	Chart     *render.Chart     `hcl:"chart,block"`
	Kustomize *render.Overlay   `hcl:"kustomize,block"`
	Images    map[string]string `hcl:"images"`
	Namespace string            `hcl:"namespace"`
	Wait      bool              `hcl:"wait"`
}

func newDeployConfig() deployConfig { return deployConfig{Wait: true} }

var deploySpec = steps.SpecFor[deployConfig]()

func (deployKind) Spec() hcldec.Spec { return deploySpec }

var objectRefType = cty.Object(map[string]cty.Type{
	"api_version": cty.String, "kind": cty.String, "namespace": cty.String, "name": cty.String,
})

func (deployKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"objects": cty.List(objectRefType), "revision": cty.String})
}

// Check parses manifests known at load time, so a YAML error or a missing
// kind is a diagnostic before anything is written.
func (deployKind) Check(cfg cty.Value) []steps.Problem {
	c := newDeployConfig()
	u, err := steps.Decode(cfg, &c)
	if ps := steps.ProblemsOf(err); len(ps) > 0 {
		return ps
	}
	if ps := c.checkSource(u); len(ps) > 0 {
		return ps
	}
	if u.Has("manifests") || c.Manifests == nil {
		return nil
	}
	if _, err := kube.ParseManifests(c.Manifests); err != nil {
		return []steps.Problem{{Path: []string{"manifests"}, Summary: "Invalid manifests", Detail: err.Error()}}
	}
	return nil
}

// applyOrder puts namespaces and CRDs first (what the rest lives in or is
// made of), the others as given.
func applyOrder(ms []kube.Manifest) []kube.Manifest {
	rank := func(u *unstructured.Unstructured) int {
		switch u.GroupVersionKind().GroupKind().String() {
		case "Namespace":
			return 0
		case "CustomResourceDefinition.apiextensions.k8s.io":
			return 1
		}
		return 2
	}
	out := append([]kube.Manifest(nil), ms...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].Object) < rank(out[j].Object) })
	return out
}

// overrideImages applies images to every workload and fails when a name
// matched no container anywhere: a typo would otherwise ship the old image
// while the pipeline reports success.
func overrideImages(ms []kube.Manifest, images map[string]string) error {
	if len(images) == 0 {
		return nil
	}
	matched := map[string]bool{}
	var containers []string
	for _, m := range ms {
		names, err := kube.SetImages(m.Object, images)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Source, err)
		}
		for _, n := range names {
			matched[n] = true
		}
		containers = append(containers, kube.ContainerNames(m.Object)...)
	}
	var missing []string
	for n := range images {
		if !matched[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("images: no container named %s in the manifests (containers: %s)",
			strings.Join(quoteAll(missing), ", "), strings.Join(uniq(containers), ", "))
	}
	return nil
}

func (deployKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	dc := newDeployConfig()
	if _, err := steps.Decode(cfg, &dc); err != nil {
		return cty.NilVal, err
	}
	c, err := env.Clients("deploy")
	if err != nil {
		return cty.NilVal, err
	}
	ns := env.NamespaceFor(dc.Namespace, c)
	ms, note, err := dc.objects(env.Dir, ns, ns)
	if err != nil {
		return cty.NilVal, err
	}
	if note != "" {
		env.Report(note)
	}
	if err := overrideImages(ms, dc.Images); err != nil {
		return cty.NilVal, err
	}

	var applied []kube.Ref
	// The state each write returned: the wait for a workload starts from
	// it (judged, then watched from its resourceVersion) instead of a list.
	wrote := map[kube.Ref]*unstructured.Unstructured{}
	var crds []kube.Ref
	crdKinds := map[string]bool{} // group/kind of CRDs in this deploy
	for _, m := range applyOrder(ms) {
		obj := m.Object
		if len(crds) > 0 && !isCRD(obj) && !env.DryRun {
			// The first object after the CRDs: they must be served first.
			if err := waitEstablished(ctx, env, c, crds); err != nil {
				return cty.NilVal, err
			}
			crds = nil
		}
		mapping, err := kube.MappingFor(c.Mapper, obj.GroupVersionKind())
		if err != nil {
			if env.DryRun && meta.IsNoMatchError(err) && crdKinds[obj.GroupVersionKind().GroupKind().String()] {
				env.Report(fmt.Sprintf("dry run: %s %s cannot be checked before its CRD exists", obj.GetKind(), obj.GetName()))
				continue
			}
			return cty.NilVal, steps.APIError(fmt.Errorf("%s: %w", m.Source, err))
		}
		r := kube.RefFor(mapping, objectNamespace(obj, ns), obj.GetName())
		if kube.Namespaced(mapping) {
			obj.SetNamespace(r.Namespace)
		} else {
			obj.SetNamespace("")
		}
		// The run's mark goes into the applied object: it costs nothing in
		// an apply, and it is what lets an undo delete an object this run
		// created without trusting the journal alone.
		kube.Mark(obj, env.RunID)
		fields := kube.FieldsOf(obj.Object)
		if !env.DryRun {
			snap, live, err := c.Capture(ctx, r)
			if err != nil {
				return cty.NilVal, steps.APIError(err)
			}
			// The apply also removes what an earlier release applied and
			// this manifest leaves out: the undo restores those too.
			fields = kube.MergeFields(fields, kube.AppliedFields(live, kube.FieldManager))
			snap.Fields = fields
			if err := steps.RecordBefore(env, snap); err != nil {
				return cty.NilVal, err
			}
		}
		out, err := c.Apply(ctx, r, obj, env.DryRun)
		if err != nil {
			return cty.NilVal, steps.APIError(err)
		}
		if !env.DryRun {
			env.Remember(steps.WrittenBy(r, out, fields))
			wrote[r] = out
		}
		// What the stages after this one read in a dry run (Planned).
		env.Planned.Leave(r, out)
		applied = append(applied, r)
		if isCRD(obj) {
			crds = append(crds, r)
			if gk, ok := crdGroupKind(obj); ok {
				crdKinds[gk] = true
			}
		}
	}
	if len(crds) > 0 && !env.DryRun {
		if err := waitEstablished(ctx, env, c, crds); err != nil {
			return cty.NilVal, err
		}
	}

	// An object applied twice in one deploy is awaited from its last write.
	revision, err := waitWorkloads(ctx, env, c, applied, wrote, dc.Wait)
	if err != nil {
		return cty.NilVal, err
	}
	return cty.ObjectVal(map[string]cty.Value{"objects": refsVal(applied), "revision": cty.StringVal(revision)}), nil
}

// waitWorkloads waits for the rollouts (unless wait is false or this is a dry
// run) and returns the revision of the first Deployment. Without waiting it
// still waits for the controller to observe the spec, which takes
// milliseconds, so the revision is the new one and not the one before.
// wrote holds the objects as the writes returned them (nil for none): a
// wait for one of them starts from that state and its resourceVersion, with
// no list (kube.WaitFrom).
func waitWorkloads(ctx context.Context, env *steps.Env, c *kube.Clients, refs []kube.Ref, wrote map[kube.Ref]*unstructured.Unstructured, wait bool) (string, error) {
	revision := ""
	first := true
	for _, r := range refs {
		if !kube.HasRollout(r.APIVersion, r.Kind) {
			continue
		}
		isDeploy := r.Kind == "Deployment" && first
		if !wait && !isDeploy {
			continue
		}
		if env.DryRun {
			if wait {
				env.Report("dry run: not waiting for the rollout of " + r.Short() + ": a dry run starts no pod")
			}
			continue
		}
		var obj *unstructured.Unstructured
		var err error
		if wait {
			obj, err = c.WaitRolloutFrom(ctx, r, wrote[r], env.Report)
		} else {
			obj, err = c.WaitFrom(ctx, r, wrote[r], kube.Observed, nil)
		}
		if err != nil {
			return "", steps.APIError(err)
		}
		if isDeploy {
			revision = obj.GetAnnotations()[revisionAnnotation]
			first = false
		}
	}
	if env.DryRun {
		for _, r := range refs {
			if r.Kind == "Deployment" {
				live, err := c.Get(ctx, r)
				if err != nil {
					return "", steps.APIError(err)
				}
				if live != nil {
					revision = live.GetAnnotations()[revisionAnnotation]
				}
				break
			}
		}
	}
	return revision, nil
}

const revisionAnnotation = "deployment.kubernetes.io/revision"

// Undo restores every object the deploy wrote, newest first, and waits for
// restored workloads to roll back out. Records must name objects of the
// stage's manifests; objects created by the run are deleted only while they
// carry its mark.
func (deployKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	if len(records) == 0 {
		return nil
	}
	c, err := env.Clients("deploy undo")
	if err != nil {
		return err
	}
	return steps.RestoreObjects(ctx, env, c, records, deployPolicy(env, c))
}

// deployPolicy checks records against the objects of the stage's manifests
// as the undo evaluates them (file() reads them again, relative to the
// pipeline directory). When they cannot be evaluated, an object is written
// only while it carries the run's mark, which every deploy applies.
func deployPolicy(env *steps.Env, c *kube.Clients) steps.UndoPolicy {
	dc := newDeployConfig()
	if !env.Configured(&dc, "manifests", "chart", "kustomize", "namespace") {
		return steps.MarkedTarget(c)
	}
	ns := env.NamespaceFor(dc.Namespace, c)
	ms, _, err := dc.objects(env.Dir, ns, ns)
	if err != nil {
		return steps.UndoPolicy{Target: steps.RefuseAll("the stage's manifests, chart or overlay no longer parse or render, so the record cannot be checked against them: " + err.Error())}
	}
	want := make([]kube.Ref, 0, len(ms))
	for _, m := range ms {
		obj := m.Object
		r := kube.Ref{APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(), Namespace: objectNamespace(obj, ns), Name: obj.GetName()}
		if c.Mapper != nil {
			if mapping, err := kube.MappingFor(c.Mapper, obj.GroupVersionKind()); err == nil {
				r = kube.RefFor(mapping, r.Namespace, r.Name)
			}
		}
		want = append(want, r)
	}
	return steps.UndoPolicy{Target: steps.TargetIs(c, want...)}
}

func isCRD(u *unstructured.Unstructured) bool {
	return u.GroupVersionKind().GroupKind().String() == "CustomResourceDefinition.apiextensions.k8s.io"
}

func crdGroupKind(u *unstructured.Unstructured) (string, bool) {
	g, _, _ := unstructured.NestedString(u.Object, "spec", "group")
	k, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
	return k + "." + g, k != ""
}

// waitEstablished waits until the CRDs are served, so custom resources that
// follow them in the same deploy can be mapped and applied.
func waitEstablished(ctx context.Context, env *steps.Env, c *kube.Clients, crds []kube.Ref) error {
	for _, r := range crds {
		_, err := c.WaitFor(ctx, r, func(obj *unstructured.Unstructured) (bool, string, error) {
			if obj == nil {
				return false, r.Short() + ": waiting for it to exist", nil
			}
			status, why := conditionStatus(obj, "Established")
			return status == "True", fmt.Sprintf("%s: waiting to be established%s", r.Short(), why), nil
		}, env.Report)
		if err != nil {
			return steps.APIError(err)
		}
	}
	c.Mapper.Reset()
	return nil
}

// objectNamespace: an object's own namespace wins over the step's.
func objectNamespace(u *unstructured.Unstructured, def string) string {
	if ns := u.GetNamespace(); ns != "" {
		return ns
	}
	return def
}

func refsVal(refs []kube.Ref) cty.Value {
	if len(refs) == 0 {
		return cty.ListValEmpty(objectRefType)
	}
	l := make([]cty.Value, len(refs))
	for i, r := range refs {
		l[i] = cty.ObjectVal(map[string]cty.Value{
			"api_version": cty.StringVal(r.APIVersion), "kind": cty.StringVal(r.Kind),
			"namespace": cty.StringVal(r.Namespace), "name": cty.StringVal(r.Name),
		})
	}
	return cty.ListVal(l)
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}
