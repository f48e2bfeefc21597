package workloads

import (
	"context"
	"encoding/json"
	"maps"

	"github.com/zclconf/go-cty/cty"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// namedDocs describe named's attributes in the reference, with what a
// kind's own map adds (withNamed).
var namedDocs = map[string]string{
	"name":      "The object's name.",
	"namespace": "The object's namespace (default: the pipeline's, or the run's `--namespace`).",
}

// withNamed is a kind's attribute docs and named's.
func withNamed(docs map[string]string) map[string]string {
	out := maps.Clone(namedDocs)
	maps.Copy(out, docs)
	return out
}

// named is the object a one-object kind acts on: its name, and its
// namespace when not the run's (steps.Env.NamespaceFor).
type named struct {
	Name      string `hcl:"name,required"`
	Namespace string `hcl:"namespace"`
}

// ref resolves a kind as the user wrote it and names the object.
func ref(c *kube.Clients, kind, ns, name string) (kube.Ref, error) {
	m, err := kube.ResolveKind(c.Mapper, kind)
	if err != nil {
		return kube.Ref{}, steps.APIError(err)
	}
	return kube.RefFor(m, ns, name), nil
}

// objectVal is an object as a cty value (null for nil), for outputs and
// expressions.
func objectVal(u *unstructured.Unstructured) cty.Value {
	if u == nil {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return steps.FromGo(u.Object)
}

// mergePatch sends body as a merge patch to r (or its subresource); with
// rv, only if r is still at that resourceVersion, so a write decided on a
// read fails with a conflict when the object changed in between.
func mergePatch(ctx context.Context, c *kube.Clients, r kube.Ref, body map[string]any, rv string, dryRun bool, subresources ...string) (*unstructured.Unstructured, error) {
	if rv != "" {
		body["metadata"] = map[string]any{"resourceVersion": rv}
	}
	patch, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: kube.FieldManager}
	if dryRun {
		opts.DryRun = kube.DryRunAll
	}
	return c.Resource(r).Patch(ctx, r.Name, types.MergePatchType, patch, opts, subresources...)
}
