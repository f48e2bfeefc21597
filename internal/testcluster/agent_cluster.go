package testcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
)

// ProcessNodeName is the name of the i-th process node.
func ProcessNodeName(i int) string { return fmt.Sprintf("process-node-%d", i) }

// RegistryURL is the URL of namespace ns's space in the process pods'
// registry (the demo servers of ns register there), or "" without process
// nodes.
func (c *Cluster) RegistryURL(ns string) string {
	if c.registryAddr == "" {
		return ""
	}
	return "http://" + c.registryAddr + "/" + ns
}

// RegistryAddr is the registry's host:port, or "" without process nodes.
func (c *Cluster) RegistryAddr() string { return c.registryAddr }

// startProcessNodes creates the process nodes and starts their agent: in
// this process, or as a component of a detached cluster (the testcluster
// command's "agent", Options.AgentExe), and waits until the nodes are Ready.
func (c *Cluster) startProcessNodes(ctx context.Context, opts Options) error {
	if opts.ProcessNodes <= 0 {
		return nil
	}
	quantity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("64Gi"),
		corev1.ResourcePods:   resource.MustParse("200"),
	}
	var names []string
	for i := 0; i < opts.ProcessNodes; i++ {
		name := ProcessNodeName(i)
		names = append(names, name)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: name,
				Labels: map[string]string{
					"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
					NodeKindLabel: NodeKindProcess, "topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%2),
				},
			},
			Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: NodeKindLabel, Value: NodeKindProcess, Effect: corev1.TaintEffectNoSchedule}}},
			Status: corev1.NodeStatus{Capacity: quantity, Allocatable: quantity},
		}
		if _, err := c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("testcluster: create node %s: %w", name, err)
		}
	}
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	c.registryAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	if opts.Detached {
		demo, err := DemoAppBinary(ctx)
		if err != nil {
			return err
		}
		if opts.AgentExe == "" {
			return errors.New("testcluster: a detached cluster with process nodes needs Options.AgentExe")
		}
		if err := c.spawnExe("pod-agent", opts.AgentExe, true, "agent", "-kubeconfig", c.kubeconfig, "-dir", c.dir,
			"-nodes", strings.Join(names, ","), "-registry", c.registryAddr, "-demoapp", demo); err != nil {
			return err
		}
	} else if err := c.runAgentHere(ctx, names); err != nil {
		return err
	}
	return c.waitNodesReady(ctx, NodeKindLabel+"="+NodeKindProcess, len(names))
}

// runAgentHere runs the agent in this process until Stop.
func (c *Cluster) runAgentHere(ctx context.Context, names []string) error {
	f, err := os.OpenFile(filepath.Join(c.LogDir(), "pod-agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	actx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	ready := make(chan struct{})
	cfg := AgentConfig{Client: c.client, Nodes: names, Dir: c.dir, DemoApp: DemoAppBinary, Registry: c.registryAddr, Logf: timestampedTo(f)}
	go func() { errc <- RunAgent(actx, cfg, ready) }()
	c.agentStop = func() {
		cancel()
		<-errc
		f.Close()
	}
	select {
	case <-ready:
		return nil
	case err := <-errc:
		errc <- err
		return fmt.Errorf("testcluster: process-pod agent: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// timestampedTo is a Logf writing lines with their time to f.
func timestampedTo(f *os.File) func(string, ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format("15:04:05.000000"), fmt.Sprintf(format, args...))
	}
}

func (c *Cluster) waitNodesReady(ctx context.Context, selector string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	lw := cache.NewFilteredListWatchFromClient(c.client.CoreV1().RESTClient(), "nodes", "", func(o *metav1.ListOptions) {
		o.LabelSelector = selector
	})
	err := until(ctx, lw, func(objs []runtime.Object) (bool, error) {
		if err := c.checkAlive(); err != nil {
			return false, err
		}
		count := 0
		for _, o := range objs {
			for _, cond := range o.(*corev1.Node).Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					count++
				}
			}
		}
		return count >= n, nil
	})
	if err != nil {
		return fmt.Errorf("testcluster: process nodes not Ready (see logs/pod-agent.log): %w", err)
	}
	return nil
}

// DemoAppBinary builds the demo server (internal/demoapp/cmd/demoapp) into
// the cache and returns its path.
func DemoAppBinary(ctx context.Context) (string, error) {
	return buildTool(ctx, "./internal/demoapp/cmd/demoapp", "demoapp")
}

// buildTool builds a main package of the cutover module into
// CacheRoot()/tools/NAME. The binary is written beside and renamed into
// place, so processes still running the old one are not disturbed;
// concurrent builds are serialized by a file lock.
func buildTool(ctx context.Context, pkg, name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cacheRoot, err := CacheRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheRoot, "tools")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, name+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(goruntime.GOROOT(), "bin", "go") //nolint:staticcheck // fallback only
	}
	out := filepath.Join(tmp, name)
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("testcluster: go build %s: %v\n%s", pkg, err, buf.String())
	}
	final := filepath.Join(dir, name)
	return final, os.Rename(out, final)
}
