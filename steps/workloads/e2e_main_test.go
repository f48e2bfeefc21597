package workloads

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// TestMain stops the shared control plane (if a test started one) when the
// tests are done; the logs are kept when one failed.
func TestMain(m *testing.M) {
	code := m.Run()
	testcluster.StopShared(code != 0)
	os.Exit(code)
}

// journal is an in-memory stand-in for the engine's journal: it keeps the
// records as the engine would, JSON-marshalled.
type journal struct {
	mu   sync.Mutex
	recs []json.RawMessage
}

func (j *journal) capture(r any) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.recs = append(j.recs, raw)
	return nil
}

func (j *journal) records() []json.RawMessage {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]json.RawMessage(nil), j.recs...)
}

// e2e is one scenario's namespace on the shared control plane.
type e2e struct {
	t       testing.TB
	ns      string
	c       *kube.Clients
	cluster *kube.Cluster
	journal *journal
	ctx     context.Context
}

func newE2E(t testing.TB) *e2e {
	t.Helper()
	ctx, ns, kc := testcluster.Namespace(t, "kube", 2*time.Minute)
	cl := kube.New(kube.Options{Kubeconfig: kc})
	c, err := cl.Clients()
	if err != nil {
		t.Fatal(err)
	}
	return &e2e{t: t, ns: ns, c: c, cluster: cl, journal: &journal{}, ctx: ctx}
}

// env is a fresh step environment journaling into e.journal; progress goes
// to the test log and, when given, to ch.
func (e *e2e) env(ch chan<- string) *steps.Env {
	return &steps.Env{
		Pipeline: "test", Stage: e.t.Name(), RunID: "run-1", Attempt: 1, Namespace: e.ns, Cluster: e.cluster,
		Capture: e.journal.capture,
		// Notes go with the records, as the engine journals them.
		Note: func(r any) {
			if err := e.journal.capture(r); err != nil {
				e.t.Error(err)
			}
		},
		Progress: func(m string) {
			e.t.Log(m)
			if ch != nil {
				select {
				case ch <- m:
				default:
				}
			}
		},
	}
}

// undoEnv is the environment of an undo of a stage whose step block
// evaluates to cfg.
func (e *e2e) undoEnv(cfg cty.Value) *steps.Env {
	env := e.env(nil)
	env.Config = cfg
	return env
}

func (e *e2e) get(ref kube.Ref) *unstructured.Unstructured {
	e.t.Helper()
	obj, err := e.c.Get(e.ctx, ref)
	if err != nil {
		e.t.Fatal(err)
	}
	return obj
}

func (e *e2e) deployment(name string) kube.Ref {
	return kube.Ref{APIVersion: "apps/v1", Kind: "Deployment", Resource: "deployments", Namespace: e.ns, Name: name}
}

func (e *e2e) ref(kind, resource, name string) kube.Ref {
	return kube.Ref{APIVersion: "v1", Kind: kind, Resource: resource, Namespace: e.ns, Name: name}
}

// webYAML is a Deployment whose pods become Ready after readyDelay, so
// waits are real waits.
func webManifest(name, image string, replicas int, podAnnotations map[string]string) string {
	ann := ""
	for k, v := range podAnnotations {
		ann += fmt.Sprintf("        %s: %q\n", k, v)
	}
	if ann != "" {
		ann = "      annotations:\n" + ann
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels: {app: %[1]s}
spec:
  replicas: %[3]d
  selector:
    matchLabels: {app: %[1]s}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: %[1]s}
%[4]s    spec:
      containers:
      - name: app
        image: %[2]s
`, name, image, replicas, ann)
}

func strList(s ...string) cty.Value {
	l := make([]cty.Value, len(s))
	for i, x := range s {
		l[i] = cty.StringVal(x)
	}
	return cty.ListVal(l)
}

// deployCfg builds a deploy block value as the engine would decode it
// (absent optional attributes are null).
func deployCfg(manifests []string, images map[string]string, wait *bool) cty.Value {
	img := cty.NullVal(cty.Map(cty.String))
	if images != nil {
		img = steps.FromGo(images)
	}
	w := cty.NullVal(cty.Bool)
	if wait != nil {
		w = cty.BoolVal(*wait)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"manifests": strList(manifests...), "images": img,
		"namespace": cty.NullVal(cty.String), "wait": w,
	})
}

func containerImage(t *testing.T, d *unstructured.Unstructured) string {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(cs) == 0 {
		t.Fatalf("%s has no containers", d.GetName())
	}
	return cs[0].(map[string]any)["image"].(string)
}

func nested(obj *unstructured.Unstructured, path ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, path...)
	return v
}

func hasMessage(ch <-chan string, substr string, ctx context.Context) bool {
	for {
		select {
		case m := <-ch:
			if strings.Contains(m, substr) {
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
}
