package route

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// The routers' CRDs come from their projects' Go modules, fetched from the
// module proxy at test time; no CRD yaml is kept in this repository.
const (
	gatewayModule = "sigs.k8s.io/gateway-api@v1.3.0"
	gatewayCRD    = "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml"
	istioModule   = "istio.io/api@v1.24.2"
	istioCRDs     = "kubernetes/customresourcedefinitions.gen.yaml"
	istioVSName   = "virtualservices.networking.istio.io"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// moduleDir downloads a module (or finds it in the module cache) and returns
// its directory. A machine without the module proxy cannot run these tests:
// they are skipped with the reason.
func moduleDir(t testing.TB, mod string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", mod)
	cmd.Dir = t.TempDir() // outside the main module: nothing there changes
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); err != nil || jerr != nil || info.Dir == "" {
		t.Skipf("go mod download %s failed (no module proxy?): %v %s %s", mod, err, info.Error, stderr.String())
	}
	return info.Dir
}

var crdOnce sync.Map // CRD name → *sync.Once: the cluster is shared by the binary

// installCRD creates the CustomResourceDefinition named name from the yaml
// file (one or many documents) and waits until it is Established.
func (s *scenario) installCRD(file, name string) {
	s.t.Helper()
	once, _ := crdOnce.LoadOrStore(name, &sync.Once{})
	var failure error
	once.(*sync.Once).Do(func() { failure = s.createCRD(file, name) })
	if failure != nil {
		s.t.Fatal(failure)
	}
	s.waitEstablished(name)
	s.cl.Mapper.Reset()
}

func (s *scenario) createCRD(file, name string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if u.GetKind() != "CustomResourceDefinition" || u.GetName() != name {
			continue
		}
		_, err := s.cl.Dynamic.Resource(crdGVR).Create(s.ctx, &u, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	}
	return errors.New("CRD " + name + " not found in " + filepath.Base(file))
}

func (s *scenario) waitEstablished(name string) {
	s.t.Helper()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = "metadata.name=" + name
			return s.cl.Dynamic.Resource(crdGVR).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = "metadata.name=" + name
			return s.cl.Dynamic.Resource(crdGVR).Watch(ctx, o)
		},
	}
	_, err := watchtools.UntilWithSync(s.ctx, lw, &unstructured.Unstructured{}, nil, func(e watch.Event) (bool, error) {
		u, ok := e.Object.(*unstructured.Unstructured)
		if !ok {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if obj(c)["type"] == "Established" && obj(c)["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		s.t.Fatalf("CRD %s not established: %v", name, err)
	}
}
