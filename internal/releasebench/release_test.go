package releasebench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/testcluster"
)

// bench is what a cluster benchmark needs: the shared control plane, an
// admin client to check the outcome with, and the cutover binary.
type bench struct {
	b       *testing.B
	c       *testcluster.Cluster
	client  kubernetes.Interface
	bin     string
	blueGrn string // pipelines/blue-green-service
}

func newBench(b *testing.B) *bench {
	b.Helper()
	bin, err := cutoverBinary()
	if err != nil {
		b.Fatal(err)
	}
	c, err := testcluster.Get()
	if err != nil {
		b.Fatalf("local control plane: %v", err)
	}
	client, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		b.Fatal(err)
	}
	dir, err := pipelineDir("blue-green-service")
	if err != nil {
		b.Fatal(err)
	}
	return &bench{b: b, c: c, client: client, bin: bin, blueGrn: dir}
}

// namespace creates a namespace for one release, deleted when the benchmark
// ends (without waiting: nothing reads it again).
func (x *bench) namespace(prefix string) (ns, kubeconfig string) {
	x.b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns, kubeconfig, err := x.c.NewNamespace(ctx, prefix)
	if err != nil {
		x.b.Fatal(err)
	}
	x.b.Cleanup(func() {
		_ = x.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	return ns, kubeconfig
}

// cutoverCmd is `cutover ARGS` with a clean environment: its own HOME, the
// given kubeconfig, and nothing from a CI job the benchmark may run in (the
// GitHub/GitLab renderers would change the output).
func (x *bench) cutoverCmd(ctx context.Context, kubeconfig string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, x.bin, args...)
	cmd.Env = []string{"HOME=" + x.b.TempDir(), "PATH=" + os.Getenv("PATH"), "NO_COLOR=1"}
	if kubeconfig != "" {
		cmd.Env = append(cmd.Env, "KUBECONFIG="+kubeconfig)
	}
	return cmd
}

// run runs cutover to the end and fails the benchmark unless it exits with
// want.
func (x *bench) run(kubeconfig string, want int, args ...string) string {
	x.b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := x.cutoverCmd(ctx, kubeconfig, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != want {
		x.b.Fatalf("cutover %v: exit %d (%v), want %d; output:\n%s", args, code, err, want, out.String())
	}
	return out.String()
}

// releaseArgs runs pipelines/blue-green-service for version with two
// replicas, gates every 200ms (as its scenarios do).
func (x *bench) releaseArgs(version string, extra ...string) []string {
	return append([]string{"run", x.blueGrn, "-var", "version=" + version, "-var", "replicas=2",
		"-var", "analysis_interval=200ms"}, extra...)
}

// initial makes the state every release starts from: Service demo on v1,
// Deployment demo-v1 rolled out. It goes around any counting proxy.
func (x *bench) initial(kubeconfig string) {
	x.b.Helper()
	out := x.run(kubeconfig, 0, x.releaseArgs("v1", "-var", "initial=true")...)
	if !bytes.Contains([]byte(out), []byte("Result: "+string(events.Succeeded))) {
		x.b.Fatalf("first release (v1) did not succeed:\n%s", out)
	}
}

// checkReleased fails the benchmark unless version is live in ns: the
// Service selects it, its Deployment is available, and the previous colour
// (blueReplicas: what it should have been left at) is as expected.
func (x *bench) checkReleased(ns, version, blue string, blueReplicas int32) {
	x.b.Helper()
	ctx := context.Background()
	svc, err := x.client.CoreV1().Services(ns).Get(ctx, "demo", metav1.GetOptions{})
	if err != nil {
		x.b.Fatal(err)
	}
	if got := svc.Spec.Selector["version"]; got != version {
		x.b.Fatalf("Service %s/demo selects version=%q, want %q", ns, got, version)
	}
	green, err := x.client.AppsV1().Deployments(ns).Get(ctx, "demo-"+version, metav1.GetOptions{})
	if err != nil {
		x.b.Fatal(err)
	}
	if green.Status.ReadyReplicas != 2 {
		x.b.Fatalf("Deployment %s/demo-%s has %d ready replicas, want 2", ns, version, green.Status.ReadyReplicas)
	}
	if blue == "" {
		return
	}
	old, err := x.client.AppsV1().Deployments(ns).Get(ctx, "demo-"+blue, metav1.GetOptions{})
	if err != nil {
		x.b.Fatal(err)
	}
	if old.Spec.Replicas == nil || *old.Spec.Replicas != blueReplicas {
		x.b.Fatalf("Deployment %s/demo-%s: spec.replicas = %v, want %d", ns, blue, old.Spec.Replicas, blueReplicas)
	}
}

func writeFile(b *testing.B, name, text string) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

func perRelease(n, releases int) float64 { return float64(n) / float64(releases) }

func must(b *testing.B, err error, what string, args ...any) {
	b.Helper()
	if err != nil {
		b.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
