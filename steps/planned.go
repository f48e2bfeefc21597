package steps

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutoverhq/cutover/kube"
)

// Planned is what the stages before this one leave in the cluster, as
// plan --dry-run=server computed them: a stage's plan starts from the
// objects their dry runs returned, as its run starts from what they
// wrote, rather than from the live cluster (a partition step after the
// deploy that sets the partition moves from the deploy's value, not the
// cluster's). The engine gives a stage the objects of the stages it
// depends on, and the names of those whose changes could not be computed:
// what they leave is known after them. nil outside plan.
type Planned struct {
	objects map[plannedKey]*unstructured.Unstructured
	left    map[plannedKey]*unstructured.Unstructured
	unknown []string
}

// The version is left out: the deploy's manifest and a step's kind may
// name the same object at different versions.
type plannedKey struct {
	group, resource, namespace, name string
}

func keyOf(r kube.Ref) plannedKey {
	gv, _ := k8sschema.ParseGroupVersion(r.APIVersion)
	return plannedKey{gv.Group, r.Resource, r.Namespace, r.Name}
}

// NewPlanned starts what a stage sees: nothing left by earlier stages yet
// (After adds them), unknown naming the earlier stages whose changes the
// plan could not compute.
func NewPlanned(unknown []string) *Planned {
	return &Planned{objects: map[plannedKey]*unstructured.Unstructured{}, left: map[plannedKey]*unstructured.Unstructured{},
		unknown: unknown}
}

// After adds what an earlier stage's plan left, over what came before it.
func (p *Planned) After(earlier *Planned) {
	for k, o := range earlier.left {
		p.objects[k] = o
	}
}

// Object is r as the earlier stages leave it, when one of them writes it.
func (p *Planned) Object(r kube.Ref) (*unstructured.Unstructured, bool) {
	if p == nil {
		return nil, false
	}
	o, ok := p.objects[keyOf(r)]
	return o, ok
}

// Unknown names the earlier stages whose changes the plan could not
// compute: what r is when this stage runs is known after them.
func (p *Planned) Unknown() []string {
	if p == nil {
		return nil
	}
	return p.unknown
}

// Leave records r as this stage's plan leaves it, for the stages after it.
func (p *Planned) Leave(r kube.Ref, obj *unstructured.Unstructured) {
	if p == nil || obj == nil {
		return
	}
	p.objects[keyOf(r)], p.left[keyOf(r)] = obj, obj
}
