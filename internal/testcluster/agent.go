package testcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cutoverhq/cutover/internal/demoapp/registry"
	"github.com/cutoverhq/cutover/internal/testcluster/podnet"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// Process-backed pods (docs/design.md, "Test cluster data plane"): the
// agent plays the kubelet of the process nodes. Every pod scheduled to one
// of them gets a loopback address of its own as pod IP and one demo server
// process (internal/demoapp) per container, bound to that address on the
// container's ports. The agent runs the probes, writes the pod's status,
// restarts containers, runs preStop hooks, and stops containers with
// SIGTERM then SIGKILL after the grace period before removing the pod.

// Labels and taint of the process nodes. Manifests select them with
//
//	nodeSelector: {cutover.dev/node-kind: process}
//	tolerations: [{key: cutover.dev/node-kind, value: process, effect: NoSchedule}]
//
// The taint keeps every other pod on the kwok nodes, where pods cost nothing.
const (
	NodeKindLabel   = "cutover.dev/node-kind"
	NodeKindProcess = "process"
)

// AgentConfig configures RunAgent.
type AgentConfig struct {
	Client kubernetes.Interface
	// Nodes are the names of the process nodes (they exist already).
	Nodes []string
	// Dir receives the agent's pod logs (Dir/pods/NS_POD_CONTAINER.log).
	Dir string
	// DemoApp returns the demo server's binary; called on the first pod.
	DemoApp func(ctx context.Context) (string, error)
	// Registry is the address (127.0.0.1:PORT) the registry listens on;
	// empty: no registry. Pods get REGISTRY_URL=http://ADDR/NAMESPACE.
	Registry string
	Logf     func(format string, args ...any)
}

// podNetSocket is where the agent serves the apiserver's egress to pod IPs.
func podNetSocket(dir string) string { return filepath.Join(dir, "podnet.sock") }

// agent is the running agent.
type agent struct {
	cfg  AgentConfig
	ips  *ipAllocator
	logf func(string, ...any)

	binOnce sync.Once
	bin     string
	binErr  error

	mu   sync.Mutex
	pods map[types.UID]*podRunner
	wg   sync.WaitGroup
}

// RunAgent runs the registry and the agent until ctx ends, then kills every
// pod process it started. ready (may be nil) is closed once the nodes are
// Ready and the informers synced.
func RunAgent(ctx context.Context, cfg AgentConfig, ready chan<- struct{}) error {
	a := &agent{cfg: cfg, ips: newIPAllocator(), logf: cfg.Logf, pods: map[types.UID]*podRunner{}}
	if a.logf == nil {
		a.logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "pods"), 0o755); err != nil {
		return err
	}
	if cfg.Registry != "" {
		l, err := net.Listen("tcp", cfg.Registry)
		if err != nil {
			return fmt.Errorf("testcluster: registry: %w", err)
		}
		srv := &http.Server{Handler: registry.NewServer(0), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		defer srv.Close()
	}
	// The apiserver's pod proxy dials pod IPs through this socket
	// (podnet.EgressConfig).
	sock := podNetSocket(cfg.Dir)
	_ = os.Remove(sock)
	pl, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("testcluster: pod network proxy: %w", err)
	}
	go func() { _ = podnet.ServeConnect(pl) }()
	defer pl.Close()
	for _, n := range cfg.Nodes {
		if err := a.nodeReady(ctx, n); err != nil {
			return err
		}
	}
	var synced []cache.InformerSynced
	for _, n := range cfg.Nodes {
		f := informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = "spec.nodeName=" + n
		}))
		inf := f.Core().V1().Pods().Informer()
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { a.sync(ctx, o) },
			UpdateFunc: func(_, o any) { a.sync(ctx, o) },
			DeleteFunc: a.gone,
		})
		if err != nil {
			return err
		}
		f.Start(ctx.Done())
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return ctx.Err()
	}
	a.logf("agent: nodes %v ready", cfg.Nodes)
	if ready != nil {
		close(ready)
	}
	<-ctx.Done()
	a.mu.Lock()
	for _, pr := range a.pods {
		pr.kill()
	}
	a.mu.Unlock()
	a.wg.Wait()
	return nil
}

// nodeReady writes the node's status as a kubelet would on registration.
func (a *agent) nodeReady(ctx context.Context, name string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := a.cfg.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		n.Status.Conditions = []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "process-pod agent is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
		}}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: name}}
		n.Status.NodeInfo.KubeletVersion = "process-pod-agent"
		n.Status.NodeInfo.OperatingSystem, n.Status.NodeInfo.Architecture = "linux", "amd64"
		_, err = a.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// demoApp builds (once) and returns the demo server's binary.
func (a *agent) demoApp(ctx context.Context) (string, error) {
	a.binOnce.Do(func() {
		if a.cfg.DemoApp == nil {
			a.binErr = errors.New("testcluster: no demo app binary configured")
			return
		}
		a.bin, a.binErr = a.cfg.DemoApp(ctx)
	})
	return a.bin, a.binErr
}

// sync is the informers' add and update handler.
func (a *agent) sync(ctx context.Context, o any) {
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if pr := a.pods[pod.UID]; pr != nil {
		pr.update(pod)
		return
	}
	if ctx.Err() != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	if pod.DeletionTimestamp != nil {
		// Deleted before it started here (or while the agent was away):
		// nothing runs, so nothing to wait for.
		go a.remove(ctx, pod)
		return
	}
	pr := newPodRunner(ctx, a, pod)
	a.pods[pod.UID] = pr
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		pr.run()
		a.mu.Lock()
		delete(a.pods, pod.UID)
		a.mu.Unlock()
	}()
}

// gone is the informers' delete handler: a pod removed from the API (force
// deleted, or by us) has its processes killed at once.
func (a *agent) gone(o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if pr := a.pods[pod.UID]; pr != nil {
		pr.kill()
	}
}

// remove finalizes a pod's deletion (grace 0), as the kubelet does once its
// containers have stopped.
func (a *agent) remove(ctx context.Context, pod *corev1.Pod) {
	err := a.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	// A failed UID precondition is a conflict: the pod was replaced.
	if err != nil && ctx.Err() == nil && !isGone(err) && !apierrors.IsConflict(err) {
		a.logf("agent: remove %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}
