package steps

import (
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cutoverhq/cutover/kube"
)

// Planned is what the stages before this one leave in the cluster, as
// plan --dry-run=server computed them: a stage's plan starts from the
// objects their dry runs returned, as its run starts from what they
// wrote, rather than from the live cluster (a partition step after the
// deploy that sets the partition moves from the deploy's value, not the
// cluster's; a switch of the Service a first release's plan creates
// starts from it instead of finding none). Every kind whose plan reads or
// writes an object records it (Leave) and reads it back (Object) before
// the live one. The engine gives a stage the objects of the stages it
// depends on, and the names of those whose changes could not be computed:
// what they leave is known after them. A run's --dry-run=server keeps it
// by the same rules (steps/rehearse.go). nil outside those two.
type Planned struct {
	stage   string // the stage this is given to
	objects map[plannedKey]*unstructured.Unstructured
	by      map[plannedKey]string // the stage that leaves each of objects
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

// NewPlanned starts what stage sees: nothing left by earlier stages yet
// (After adds them), unknown naming the earlier stages whose changes the
// plan could not compute.
func NewPlanned(stage string, unknown []string) *Planned {
	return &Planned{stage: stage, objects: map[plannedKey]*unstructured.Unstructured{}, by: map[plannedKey]string{},
		left: map[plannedKey]*unstructured.Unstructured{}, unknown: unknown}
}

// After adds what an earlier stage's plan left, over what came before it.
func (p *Planned) After(earlier *Planned) {
	for k, o := range earlier.left {
		p.objects[k], p.by[k] = o, earlier.stage
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

// KnownAfter names the earlier stages after which r is known, when this
// stage's plan cannot start from it: the stage that writes r (its object
// is planned, but what a step reads of it, its pods or its scale, exists
// only once that stage ran), else the stages whose changes are not known
// (one of them may create r). nil when no earlier stage may write r: a
// step that does not find r would not find it in the run either.
func (p *Planned) KnownAfter(r kube.Ref) []string {
	if p == nil {
		return nil
	}
	if by, ok := p.by[keyOf(r)]; ok {
		return []string{by}
	}
	return p.unknown
}

// Writers names the earlier stages that write objects, or whose changes
// are not known: what pods run when this stage runs is known after them.
func (p *Planned) Writers() []string {
	if p == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, by := range p.by {
		if !seen[by] {
			seen[by] = true
			out = append(out, by)
		}
	}
	sort.Strings(out)
	for _, u := range p.unknown {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// Leave records r as this stage's plan leaves it, for the stages after it.
func (p *Planned) Leave(r kube.Ref, obj *unstructured.Unstructured) {
	if p == nil || obj == nil {
		return
	}
	k := keyOf(r)
	p.objects[k], p.left[k] = obj, obj
}

// WritersOf names the earlier stages that leave an object match accepts
// (r names it: its resource, namespace and name), sorted: what a step
// reads of objects it finds by other means than their name, such as the
// pods of the workloads a selector matches, is known after them.
func (p *Planned) WritersOf(match func(r kube.Ref, obj *unstructured.Unstructured) bool) []string {
	if p == nil {
		return nil
	}
	var out []string
	for k, o := range p.objects {
		if by := p.by[k]; by != "" && !slices.Contains(out, by) &&
			match(kube.Ref{Resource: k.resource, Namespace: k.namespace, Name: k.name}, o) {
			out = append(out, by)
		}
	}
	sort.Strings(out)
	return out
}
