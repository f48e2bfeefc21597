package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// Ref names one object and the resource that serves it, so it can be
// reached again (by an undo in another process) without the RESTMapper.
type Ref struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Resource   string `json:"resource"` // plural resource name, e.g. "deployments"
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// RefFor builds the Ref of name in namespace for a mapping. The namespace is
// dropped for cluster-scoped kinds.
func RefFor(m *meta.RESTMapping, namespace, name string) Ref {
	if !Namespaced(m) {
		namespace = ""
	}
	return Ref{
		APIVersion: m.GroupVersionKind.GroupVersion().String(),
		Kind:       m.GroupVersionKind.Kind,
		Resource:   m.Resource.Resource,
		Namespace:  namespace,
		Name:       name,
	}
}

// GVR is the resource of the Ref.
func (r Ref) GVR() schema.GroupVersionResource {
	return schema.FromAPIVersionAndKind(r.APIVersion, r.Kind).GroupVersion().WithResource(r.Resource)
}

// String is how messages name the object: "deployment/web in namespace shop".
func (r Ref) String() string {
	s := strings.ToLower(r.Kind) + "/" + r.Name
	if r.Namespace != "" {
		s += " in namespace " + r.Namespace
	}
	return s
}

// Short is "deployment/web", for progress lines where the namespace is noise.
func (r Ref) Short() string { return strings.ToLower(r.Kind) + "/" + r.Name }

// Resource returns the dynamic client for r's resource and namespace.
func (c *Clients) Resource(r Ref) dynamic.ResourceInterface {
	ri := c.Dynamic.Resource(r.GVR())
	if r.Namespace != "" {
		return ri.Namespace(r.Namespace)
	}
	return ri
}

// Get returns the live object, or nil and no error when it does not exist.
func (c *Clients) Get(ctx context.Context, r Ref) (*unstructured.Unstructured, error) {
	obj, err := c.Resource(r).Get(ctx, r.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", r, err)
	}
	return obj, nil
}

// Snapshot is the state of one object before cutover wrote it, in a form the
// journal can keep (plain JSON): either "did not exist" or the object as the
// user would write it back (see Clean), with its UID then, and the shape of
// what the write is about to set (Fields; nil when the step does not know
// it, which makes an undo put the whole object back).
type Snapshot struct {
	Ref
	Existed bool            `json:"existed"`
	UID     string          `json:"uid,omitempty"`
	Object  json.RawMessage `json:"object,omitempty"`
	Fields  map[string]any  `json:"fields,omitempty"`
}

// SnapshotOf records live (nil: absent) as the previous state of r.
func SnapshotOf(r Ref, live *unstructured.Unstructured) (Snapshot, error) {
	s := Snapshot{Ref: r}
	if live == nil {
		return s, nil
	}
	raw, err := json.Marshal(Clean(live).Object)
	if err != nil {
		return s, fmt.Errorf("recording the previous state of %s: %w", r, err)
	}
	s.Existed, s.Object, s.UID = true, raw, string(live.GetUID())
	return s, nil
}

// Capture reads r and returns its snapshot together with the live object
// (nil when absent).
func (c *Clients) Capture(ctx context.Context, r Ref) (Snapshot, *unstructured.Unstructured, error) {
	live, err := c.Get(ctx, r)
	if err != nil {
		return Snapshot{Ref: r}, nil, err
	}
	s, err := SnapshotOf(r, live)
	return s, live, err
}

// Previous decodes the recorded object (nil when it did not exist). Numbers
// come back as int64 where they were integers, as the API server sent them.
func (s Snapshot) Previous() (*unstructured.Unstructured, error) {
	if !s.Existed {
		return nil, nil
	}
	obj, _, err := unstructured.UnstructuredJSONScheme.Decode(s.Object, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decoding the recorded state of %s: %w", s.Ref, err)
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("the recorded state of %s is a list, not an object", s.Ref)
	}
	return u, nil
}

// Clean returns a copy of obj without what the server owns: status, managed
// fields, resource version, uid, creation and deletion stamps, generation.
// What is left is what a full replacement (PUT) or a re-creation needs to
// bring the object back as it was.
func Clean(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := obj.DeepCopy()
	unstructured.RemoveNestedField(out.Object, "status")
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp",
		"generation", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		unstructured.RemoveNestedField(out.Object, "metadata", f)
	}
	return out
}

// dropGoneOwners removes owner references whose owner no longer exists with
// the same uid. Owners live in the object's namespace or are cluster-scoped.
func (c *Clients) dropGoneOwners(ctx context.Context, obj *unstructured.Unstructured) error {
	refs := obj.GetOwnerReferences()
	if len(refs) == 0 {
		return nil
	}
	var keep []metav1.OwnerReference
	for _, o := range refs {
		gvk := schema.FromAPIVersionAndKind(o.APIVersion, o.Kind)
		m, err := MappingFor(c.Mapper, gvk)
		if err != nil {
			continue // its kind is gone: so is the owner
		}
		owner, err := c.Get(ctx, RefFor(m, obj.GetNamespace(), o.Name))
		if err != nil {
			return err
		}
		if owner != nil && owner.GetUID() == o.UID {
			keep = append(keep, o)
		}
	}
	obj.SetOwnerReferences(keep)
	return nil
}

// ToUnstructured converts a typed object (e.g. an *appsv1.Deployment) for
// the helpers that work on unstructured content.
func ToUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// PodReady is a pod's Ready condition, false while it is being deleted: a
// terminating pod is on its way out and its endpoint no longer ready.
func PodReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// AnnotationRun marks every object cutover creates or writes with the run
// that did (its run id). Undo deletes a created object only while it still
// carries the mark of the run being undone, and only with a UID
// precondition, so an object deleted and re-created by someone else since,
// or named by a forged journal record, is never removed.
const AnnotationRun = "cutover.dev/run"
