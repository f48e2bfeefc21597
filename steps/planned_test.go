package steps

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutoverhq/cutover/kube"
)

// A stage reads what the stages before it leave, names the one that writes
// an object as what its pods are known after, and names the stages whose
// changes are not known for an object no stage is known to write.
func TestPlannedKnownAfter(t *testing.T) {
	svc := kube.Ref{APIVersion: "v1", Resource: "services", Namespace: "ns", Name: "demo"}
	dep := kube.Ref{APIVersion: "apps/v1", Resource: "deployments", Namespace: "ns", Name: "demo-v2"}
	other := kube.Ref{APIVersion: "apps/v1", Resource: "deployments", Namespace: "ns", Name: "demo-v1"}

	service := NewPlanned("service", nil)
	service.Leave(svc, &unstructured.Unstructured{Object: map[string]any{"kind": "Service"}})
	deploy := NewPlanned("deploy_green", nil)
	// The version is left out of the key: a manifest at another version
	// names the same object.
	deploy.Leave(kube.Ref{APIVersion: "apps/v1beta2", Resource: "deployments", Namespace: "ns", Name: "demo-v2"},
		&unstructured.Unstructured{Object: map[string]any{"kind": "Deployment"}})

	sw := NewPlanned("switch", []string{"exec"})
	sw.After(service)
	sw.After(deploy)
	if _, ok := sw.Object(svc); !ok {
		t.Fatal("the Service the service stage leaves is not seen")
	}
	if got := sw.KnownAfter(dep); !slices.Equal(got, []string{"deploy_green"}) {
		t.Errorf("KnownAfter(deployment) = %v, want the stage that writes it", got)
	}
	if got := sw.KnownAfter(other); !slices.Equal(got, []string{"exec"}) {
		t.Errorf("KnownAfter(unwritten) = %v, want the stages whose changes are unknown", got)
	}
	if got := sw.Writers(); !slices.Equal(got, []string{"deploy_green", "service", "exec"}) {
		t.Errorf("Writers = %v", got)
	}
	// What the stage itself leaves is not what it is known after.
	sw.Leave(svc, &unstructured.Unstructured{Object: map[string]any{"kind": "Service"}})
	if got := sw.KnownAfter(svc); !slices.Equal(got, []string{"service"}) {
		t.Errorf("KnownAfter after Leave = %v, want service", got)
	}
	var none *Planned
	if none.KnownAfter(svc) != nil || none.Writers() != nil {
		t.Error("a nil Planned (outside plan) names stages")
	}
}
