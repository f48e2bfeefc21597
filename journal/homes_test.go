package journal

import (
	"context"
	"errors"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/cutoverhq/cutover/kube"
)

func TestHomes(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewSimpleClientset()
	for ns, st := range map[string]Store{
		"shop":    newSecretStore(cs, "shop"),
		"legacy":  newConfigMapStore(cs, "legacy"),
		"other":   newSecretStore(cs, "other"),
		"another": newConfigMapStore(cs, "another"),
	} {
		run := "r-1"
		if ns == "other" || ns == "another" {
			run = "r-2"
		}
		if _, err := st.Create(ctx, Meta{RunID: run, Pipeline: "p", Status: StatusRunning}); err != nil {
			t.Fatal(err)
		}
	}
	c := &kube.Clients{Typed: cs}
	got, err := Homes(ctx, c, "r-1")
	if err != nil || !slices.Equal(got, []string{"legacy", "shop"}) {
		t.Fatalf("Homes(r-1) = %v, %v; want [legacy shop]", got, err)
	}
	if got, err := Homes(ctx, c, "r-3"); err != nil || len(got) != 0 {
		t.Fatalf("Homes(r-3) = %v, %v; want none", got, err)
	}

	// A Role in one namespace may list neither cluster-wide: said, not
	// "nowhere"; one of the two refused still finds the other's runs.
	refuse := func(resource string) {
		cs.PrependReactor("list", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(corev1.Resource(resource), "", errors.New("no"))
		})
	}
	refuse("configmaps")
	if got, err := Homes(ctx, c, "r-1"); err != nil || !slices.Equal(got, []string{"shop"}) {
		t.Fatalf("Homes(r-1), configmaps refused = %v, %v; want [shop]", got, err)
	}
	refuse("secrets")
	if _, err := Homes(ctx, c, "r-1"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("Homes, both refused: err = %v, want ErrForbidden", err)
	}
}
