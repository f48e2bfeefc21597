package lint

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/kube"
)

func TestMain(m *testing.M) { testcluster.Main(m, nil) }

// The lint's verdicts rest on claims about the API server: that what it
// calls clean is a valid set of objects, and that rolling-update-invalid
// catches what the server would refuse at deploy time. Check both against
// a real kube-apiserver with server-side dry-run creates.
func TestE2EVerdictsMatchTheAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the test control plane")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := testcluster.Get()
	if err != nil {
		t.Fatal(err)
	}
	ns, kubeconfig, err := c.NewNamespace(ctx, "lint")
	if err != nil {
		t.Fatal(err)
	}
	clients, err := kube.New(kube.Options{Kubeconfig: kubeconfig}).Clients()
	if err != nil {
		t.Fatal(err)
	}
	create := func(src []byte) []error {
		var errs []error
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(src), 4096)
		for {
			obj := &unstructured.Unstructured{}
			if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
				return errs
			} else if err != nil {
				t.Fatal(err)
			}
			if len(obj.Object) == 0 {
				continue
			}
			m, err := clients.Mapper.RESTMapping(obj.GroupVersionKind().GroupKind(), obj.GroupVersionKind().Version)
			if err != nil {
				t.Fatal(err)
			}
			_, err = clients.Dynamic.Resource(m.Resource).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			errs = append(errs, err)
		}
	}

	clean, err := os.ReadFile(filepath.Join("testdata", "clean.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if fs := Sources(map[string]string{"clean.yaml": string(clean)}); len(fs) != 0 {
		t.Fatalf("clean.yaml has findings: %v", fs)
	}
	errs := create(clean)
	if len(errs) != 4 {
		t.Fatalf("want 4 objects in clean.yaml, created %d", len(errs))
	}
	for _, err := range errs {
		if err != nil {
			t.Errorf("the API server refuses clean.yaml: %v", err)
		}
	}

	invalid := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n" +
		"  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}\n" +
		"  selector: {matchLabels: {app: web}}\n" +
		"  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: x}]}\n"
	var rule []Finding
	for _, f := range Sources(map[string]string{"bad.yaml": invalid}) {
		if f.Rule == "rolling-update-invalid" {
			rule = append(rule, f)
		}
	}
	if len(rule) != 1 {
		t.Fatalf("lint should flag the invalid strategy, got %v", rule)
	}
	errs = create([]byte(invalid))
	if len(errs) != 1 || !apierrors.IsInvalid(errs[0]) || !strings.Contains(errs[0].Error(), "maxUnavailable") {
		t.Fatalf("the API server should refuse maxSurge 0 with maxUnavailable 0 as invalid, got %v", errs)
	}
}
