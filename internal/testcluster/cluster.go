// Package testcluster runs a real, local Kubernetes control plane for tests
// and demos: etcd, kube-apiserver, kube-controller-manager and kube-scheduler
// built from the versions pinned in testdata/cluster/go.mod, with kwok playing
// the kubelets of a few fake nodes. No container runtime is involved: pods are
// scheduled, kwok moves them through their lifecycle following the Stage files
// in testdata/cluster/stages, and the real controllers do the rest.
//
// A test binary shares one control plane between its tests: [Get] starts it
// on first use and [Main] (or [Cluster.Stop]) stops it. Each scenario gets a
// namespace of its own from [Cluster.NewNamespace].
package testcluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/cutoverhq/cutover/internal/testcluster/dataplane"
	"github.com/cutoverhq/cutover/internal/testcluster/podnet"
)

// Annotations understood by the pod Stage files (testdata/cluster/stages).
const (
	// AnnotationReadyDelay delays a pod's readiness after it starts running
	// (a Go duration such as "5s"; the default is 200ms).
	AnnotationReadyDelay = "cutover.test/ready-delay"
	// AnnotationNeverReady "true" keeps a pod Running but never Ready.
	AnnotationNeverReady = "cutover.test/never-ready"
	// AnnotationFail "true" makes a pod's containers crash over and over
	// (CrashLoopBackOff, restartCount going up about once a second).
	AnnotationFail = "cutover.test/fail"
	// AnnotationTerminateDelay delays the removal of a deleted pod
	// (a Go duration; default 0), like a slow preStop hook.
	AnnotationTerminateDelay = "cutover.test/terminate-delay"

	// NodeAnnotation marks the nodes kwok manages.
	NodeAnnotation = "kwok.x-k8s.io/node"
)

// Options tune Start.
type Options struct {
	// Dir holds the control plane's files (pki, etcd data, logs,
	// kubeconfigs). Empty: a new temporary directory, removed by Stop.
	Dir string
	// Detached starts the components in their own sessions, so they outlive
	// this process (the developer's long-running cluster).
	Detached bool
	// Nodes is the number of fake nodes (default 2).
	Nodes int
	// ProcessNodes is the number of process nodes, whose pods run as local
	// processes (agent.go); 0: none.
	ProcessNodes int
	// AgentExe runs the process nodes' agent of a Detached cluster as
	// "AgentExe agent ..." (the testcluster command passes itself).
	AgentExe string
	// Logf receives progress lines (nil: silent).
	Logf func(format string, args ...any)
	// DataPlane starts the service proxies and the router in this process
	// (see dataplane.go); PropagationDelay is theirs (0: the default).
	DataPlane        bool
	PropagationDelay time.Duration
	// Name names the cluster and context in the kubeconfig (default
	// "testcluster"), and, unless it is the default, its user NAME-admin:
	// kubeconfigs of several dev clusters then merge without one hiding
	// another (testdata/cluster/README.md).
	Name string
}

// DefaultName is the kubeconfig cluster and context name of a cluster
// started without Options.Name.
const DefaultName = "testcluster"

// Cluster is a running control plane.
type Cluster struct {
	dir        string
	name       string // in the kubeconfig (Options.Name)
	ownDir     bool
	bins       *BinarySet
	pki        *pki
	server     string
	adminToken string
	kubeconfig string
	restConfig *rest.Config
	client     kubernetes.Interface
	logf       func(format string, args ...any)

	// Ports of the components.
	EtcdPort, APIServerPort int
	// StartDuration is the time Start took once the binaries were present.
	StartDuration time.Duration

	dataPlane *dataplane.DataPlane

	mu      sync.Mutex
	procs   []*proc
	stopped bool
	nsDir   string

	registryAddr string // of the process pods' registry (agent.go)
	agentStop    func() // stops an agent running in this process
}

type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Start builds the component binaries if needed, starts a control plane
// and waits until it is ready: the apiserver answers /readyz, the fake nodes
// are Ready and a smoke Deployment has rolled out.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bins, err := EnsureBinaries(ctx, logf)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := start(ctx, bins, opts, logf)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if !errors.Is(err, errPortInUse) {
			return nil, err
		}
		logf("testcluster: a port was taken meanwhile, retrying: %v", err)
	}
	return nil, lastErr
}

var errPortInUse = errors.New("address already in use")

func start(ctx context.Context, bins *BinarySet, opts Options, logf func(string, ...any)) (_ *Cluster, err error) {
	begin := time.Now()
	c := &Cluster{bins: bins, logf: logf, dir: opts.Dir, name: opts.Name}
	if c.name == "" {
		c.name = DefaultName
	}
	if c.dir == "" {
		base := filepath.Join(os.TempDir(), "cutover-testcluster")
		if err := os.MkdirAll(base, 0o755); err != nil {
			return nil, err
		}
		sweepStaleDirs(base)
		if c.dir, err = os.MkdirTemp(base, fmt.Sprintf("%d-", os.Getpid())); err != nil {
			return nil, err
		}
		c.ownDir = true
	} else {
		// A fresh start: drop the data and logs of an earlier run.
		for _, sub := range []string{"etcd", "logs", "pki", "kubeconfigs"} {
			_ = os.RemoveAll(filepath.Join(c.dir, sub))
		}
	}
	defer func() {
		if err != nil {
			tails := c.LogTails(30)
			c.Stop()
			err = fmt.Errorf("%w\n%s", err, tails)
		}
	}()
	for _, sub := range []string{"etcd", "logs", "kubeconfigs"} {
		if err := os.MkdirAll(filepath.Join(c.dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	c.nsDir = filepath.Join(c.dir, "kubeconfigs")
	if c.pki, err = writePKI(filepath.Join(c.dir, "pki")); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	c.EtcdPort, c.APIServerPort = ports[0], ports[2]
	c.server = fmt.Sprintf("https://127.0.0.1:%d", c.APIServerPort)

	// Identities: everything authenticates with a static token.
	c.adminToken = randomToken()
	tokens := map[string]string{"kube-controller-manager": randomToken(), "kube-scheduler": randomToken(), "kwok": randomToken()}
	tokenFile := filepath.Join(c.dir, "pki", "tokens.csv")
	var tb strings.Builder
	fmt.Fprintf(&tb, "%s,cutover-admin,cutover-admin,\"system:masters\"\n", c.adminToken)
	fmt.Fprintf(&tb, "%s,system:kube-controller-manager,kcm,\"system:masters\"\n", tokens["kube-controller-manager"])
	fmt.Fprintf(&tb, "%s,system:kube-scheduler,scheduler,\"system:masters\"\n", tokens["kube-scheduler"])
	fmt.Fprintf(&tb, "%s,system:kwok,kwok,\"system:masters\"\n", tokens["kwok"])
	if err := os.WriteFile(tokenFile, []byte(tb.String()), 0o600); err != nil {
		return nil, err
	}
	c.kubeconfig = filepath.Join(c.dir, "kubeconfig")
	if err := c.writeKubeconfig(c.kubeconfig, c.server, c.adminToken, "default"); err != nil {
		return nil, err
	}
	componentKubeconfig := map[string]string{}
	for name, tok := range tokens {
		p := filepath.Join(c.dir, "pki", name+".kubeconfig")
		if err := c.writeKubeconfig(p, c.server, tok, "default"); err != nil {
			return nil, err
		}
		componentKubeconfig[name] = p
	}
	stagesFile, err := writeStages(bins.ModDir, filepath.Join(c.dir, "kwok-stages.yaml"))
	if err != nil {
		return nil, err
	}

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", c.EtcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	if err := c.spawn("etcd", opts.Detached,
		"--name=testcluster",
		"--data-dir="+filepath.Join(c.dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=testcluster="+peerURL,
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	); err != nil {
		return nil, err
	}
	if err := c.waitHTTP(ctx, "etcd", etcdURL+"/health", nil, 30*time.Second); err != nil {
		return nil, err
	}
	tEtcd := time.Since(begin)
	apiserverArgs := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.APIServerPort),
		"--cert-dir=" + filepath.Join(c.dir, "pki"),
		"--tls-cert-file=" + c.pki.CertFile,
		"--tls-private-key-file=" + c.pki.KeyFile,
		"--token-auth-file=" + tokenFile,
		"--authorization-mode=RBAC",
		// kwok plays the kubelets and node-lifecycle is off, so nothing
		// would ever remove the not-ready taint this plugin puts on new
		// nodes; without it pods would never schedule.
		"--disable-admission-plugins=TaintNodesByCondition",
		// A namespace's annotations can send all its pods to the process
		// nodes (ProcessNamespace): the ready pipelines run there unchanged.
		"--enable-admission-plugins=PodNodeSelector,PodTolerationRestriction",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + c.pki.SAPubFile,
		"--service-account-signing-key-file=" + c.pki.SAKeyFile,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v=1",
	}
	if opts.ProcessNodes > 0 {
		// The pod proxy reaches process pods through the agent (podnet).
		egress := filepath.Join(c.dir, "egress.yaml")
		if err := os.WriteFile(egress, []byte(podnet.EgressConfig(podNetSocket(c.dir))), 0o644); err != nil {
			return nil, err
		}
		apiserverArgs = append(apiserverArgs, "--egress-selector-config-file="+egress)
	}
	if err := c.spawn("kube-apiserver", opts.Detached, apiserverArgs...); err != nil {
		return nil, err
	}
	if err := c.waitHTTP(ctx, "kube-apiserver", c.server+"/readyz", c.httpClient(), 90*time.Second); err != nil {
		return nil, err
	}
	tAPI := time.Since(begin)
	if c.restConfig, err = clientcmd.BuildConfigFromFlags("", c.kubeconfig); err != nil {
		return nil, err
	}
	c.restConfig.QPS, c.restConfig.Burst = 200, 400
	if c.client, err = kubernetes.NewForConfig(c.restConfig); err != nil {
		return nil, err
	}

	if err := c.spawn("kube-controller-manager", opts.Detached,
		"--kubeconfig="+componentKubeconfig["kube-controller-manager"],
		"--controllers=*,-node-lifecycle-controller,-node-ipam-controller",
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file="+c.pki.SAKeyFile,
		"--root-ca-file="+c.pki.CAFile,
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
		"--v=1",
	); err != nil {
		return nil, err
	}
	if err := c.spawn("kube-scheduler", opts.Detached,
		"--kubeconfig="+componentKubeconfig["kube-scheduler"],
		"--leader-elect=false",
		"--secure-port=0",
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--v=1",
	); err != nil {
		return nil, err
	}
	if err := c.spawn("kwok", opts.Detached,
		"--kubeconfig="+componentKubeconfig["kwok"],
		"--config="+stagesFile,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+NodeAnnotation+"=fake",
		"--cidr=10.244.0.1/16",
		"--node-ip=10.1.0.1",
		"--node-lease-duration-seconds=0",
	); err != nil {
		return nil, err
	}
	if err := c.createNodes(ctx, opts.Nodes); err != nil {
		return nil, err
	}
	if err := c.startProcessNodes(ctx, opts); err != nil {
		return nil, err
	}
	tNodes := time.Since(begin)
	if err := c.smoke(ctx); err != nil {
		return nil, err
	}
	if opts.DataPlane {
		if err := c.startDataPlane(ctx, opts.PropagationDelay); err != nil {
			return nil, err
		}
	}
	c.StartDuration = time.Since(begin)
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	logf("testcluster: control plane ready at %s in %s (etcd %s, apiserver %s, nodes %s, smoke rollout %s; logs in %s)",
		c.server, ms(c.StartDuration), ms(tEtcd), ms(tAPI-tEtcd), ms(tNodes-tAPI), ms(c.StartDuration-tNodes), c.LogDir())
	return c, nil
}

// spawn starts one component with its output in logs/NAME.log.
func (c *Cluster) spawn(name string, detached bool, args ...string) error {
	return c.spawnExe(name, c.bins.Path(name), detached, args...)
}

func (c *Cluster) spawnExe(name, exe string, detached bool, args ...string) error {
	logPath := filepath.Join(c.dir, "logs", name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(exe, args...)
	cmd.Dir = c.dir
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Env = append(os.Environ(), "HOME="+c.dir) // kwok keeps files under $HOME/.kwok
	cmd.SysProcAttr = sysProcAttr(detached)
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	if detached {
		err = cmd.Start()
	} else {
		err = startOnLockedThread(cmd)
	}
	if err != nil {
		return fmt.Errorf("testcluster: start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return nil
}

// Pdeathsig fires when the thread that forked the child exits, not the
// process, so children are started from one OS thread that never exits.
var (
	spawnOnce sync.Once
	spawnReq  chan spawnRequest
)

type spawnRequest struct {
	cmd  *exec.Cmd
	errc chan error
}

func startOnLockedThread(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReq = make(chan spawnRequest)
		go func() {
			goruntime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range spawnReq {
				r.errc <- r.cmd.Start()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnReq <- spawnRequest{cmd: cmd, errc: errc}
	return <-errc
}

func (c *Cluster) httpClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.pki.CAPEM)
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

// waitHTTP polls url until it answers 200, failing early when a component
// has exited. (Before the apiserver is up there is nothing to watch.)
func (c *Cluster) waitHTTP(ctx context.Context, name, url string, client *http.Client, timeout time.Duration) error {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if err := c.checkAlive(); err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+c.adminToken)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testcluster: %s not ready after %s: %s", name, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkAlive reports a component that has exited.
func (c *Cluster) checkAlive() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.exited() {
			data, _ := os.ReadFile(p.logPath)
			if bytes.Contains(data, []byte("address already in use")) {
				return fmt.Errorf("testcluster: %s exited: %w", p.name, errPortInUse)
			}
			return fmt.Errorf("testcluster: %s exited: %v", p.name, p.err)
		}
	}
	return nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (c *Cluster) writeKubeconfig(path, server, token, namespace string) error {
	user := "admin"
	if c.name != DefaultName {
		user = c.name + "-admin"
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[c.name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: c.pki.CAPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[c.name] = &clientcmdapi.Context{Cluster: c.name, AuthInfo: user, Namespace: namespace}
	cfg.CurrentContext = c.name
	return clientcmd.WriteToFile(*cfg, path)
}

// writeStages concatenates testdata/cluster/stages/*.yaml into one kwok
// configuration file.
func writeStages(modDir, out string) (string, error) {
	files, err := filepath.Glob(filepath.Join(modDir, "stages", "*.yaml"))
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", fmt.Errorf("testcluster: no kwok stages in %s/stages", modDir)
	}
	sort.Strings(files)
	var b bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		b.WriteString("---\n")
		b.Write(data)
		b.WriteString("\n")
	}
	return out, os.WriteFile(out, b.Bytes(), 0o644)
}

func (c *Cluster) createNodes(ctx context.Context, n int) error {
	if n <= 0 {
		n = 2
	}
	quantity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1000"),
		corev1.ResourceMemory: resource.MustParse("1Ti"),
		corev1.ResourcePods:   resource.MustParse("1000"),
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("kwok-node-%d", i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{NodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
				Labels: map[string]string{
					"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
					"type": "kwok", "topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%2),
				},
			},
			Status: corev1.NodeStatus{Capacity: quantity, Allocatable: quantity},
		}
		if _, err := c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("testcluster: create node %s: %w", name, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	lw := cache.NewListWatchFromClient(c.client.CoreV1().RESTClient(), "nodes", "", fields.Everything())
	ready := func(objs []runtime.Object) (bool, error) {
		if err := c.checkAlive(); err != nil {
			return false, err
		}
		count := 0
		for _, o := range objs {
			node := o.(*corev1.Node)
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					count++
				}
			}
		}
		return count >= n, nil
	}
	err := until(ctx, lw, ready)
	if err != nil {
		return fmt.Errorf("testcluster: fake nodes not Ready: %w", err)
	}
	return nil
}

// smoke rolls out a two-replica Deployment: proof that the apiserver,
// controller manager, scheduler and kwok work together.
func (c *Cluster) smoke(ctx context.Context) error {
	const ns = "testcluster-smoke"
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := c.waitDefaultServiceAccount(ctx, ns); err != nil {
		return err
	}
	labels := map[string]string{"app": "smoke"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "smoke:1"}}},
			},
		},
	}
	if _, err := c.client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	lw := cache.NewListWatchFromClient(c.client.AppsV1().RESTClient(), "deployments", ns, fields.OneTermEqualSelector("metadata.name", "smoke"))
	done := func(o any) bool {
		d, ok := o.(*appsv1.Deployment)
		return ok && d.Status.ObservedGeneration >= d.Generation && d.Status.AvailableReplicas == 2 && d.Status.UpdatedReplicas == 2
	}
	err := until(ctx, lw, func(objs []runtime.Object) (bool, error) {
		if err := c.checkAlive(); err != nil {
			return false, err
		}
		for _, o := range objs {
			if done(o) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("testcluster: smoke deployment did not roll out: %w", err)
	}
	return nil
}

func (c *Cluster) waitDefaultServiceAccount(ctx context.Context, ns string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	lw := cache.NewListWatchFromClient(c.client.CoreV1().RESTClient(), "serviceaccounts", ns, fields.OneTermEqualSelector("metadata.name", "default"))
	err := until(ctx, lw, func(objs []runtime.Object) (bool, error) { return len(objs) > 0, nil })
	if err != nil {
		return fmt.Errorf("testcluster: no default service account in %s: %w", ns, err)
	}
	return nil
}

// Kubeconfig is the path of an admin kubeconfig (token auth) whose context
// namespace is "default".
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// RESTConfig is an admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// Server is the apiserver's URL.
func (c *Cluster) Server() string { return c.server }

// CAData is the PEM of the CA that signed the apiserver's serving cert.
func (c *Cluster) CAData() []byte { return c.pki.CAPEM }

// Token is the admin bearer token.
func (c *Cluster) Token() string { return c.adminToken }

// Dir holds the cluster's files; LogDir the components' logs.
func (c *Cluster) Dir() string    { return c.dir }
func (c *Cluster) LogDir() string { return filepath.Join(c.dir, "logs") }

// Binaries describes the component binaries in use.
func (c *Cluster) Binaries() *BinarySet { return c.bins }

// NewNamespace creates a namespace named PREFIX-xxxxx, waits for its default
// service account, and writes an admin kubeconfig whose context namespace
// is the new one.
func (c *Cluster) NewNamespace(ctx context.Context, prefix string) (ns, kubeconfigPath string, err error) {
	ns = namespaceName(prefix)
	_, err = c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   ns,
		Labels: map[string]string{"cutover.test/scenario": "true"},
	}}, metav1.CreateOptions{})
	if err != nil {
		return "", "", fmt.Errorf("testcluster: create namespace %s: %w", ns, err)
	}
	if err := c.waitDefaultServiceAccount(ctx, ns); err != nil {
		return "", "", err
	}
	kubeconfigPath = filepath.Join(c.nsDir, ns+".kubeconfig")
	if err := c.WriteKubeconfig(kubeconfigPath, ns); err != nil {
		return "", "", err
	}
	return ns, kubeconfigPath, nil
}

// WriteKubeconfig writes an admin kubeconfig for namespace to path.
func (c *Cluster) WriteKubeconfig(path, namespace string) error {
	return c.writeKubeconfig(path, c.server, c.adminToken, namespace)
}

func namespaceName(prefix string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(prefix) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	p := strings.Trim(b.String(), "-")
	if len(p) > 40 {
		p = strings.Trim(p[:40], "-")
	}
	if p == "" {
		p = "test"
	}
	return p + "-" + rand.String(5)
}

// LogTails returns the last n lines of every component's log.
func (c *Cluster) LogTails(n int) string {
	if c == nil {
		return ""
	}
	c.mu.Lock()
	procs := append([]*proc(nil), c.procs...)
	c.mu.Unlock()
	var b strings.Builder
	for _, p := range procs {
		state := "running"
		if p.exited() {
			state = fmt.Sprintf("exited: %v", p.err)
		}
		fmt.Fprintf(&b, "--- %s (%s) %s, last %d lines:\n", p.name, state, p.logPath, n)
		for _, l := range tail(p.logPath, n) {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func tail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	const max = 256 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines
}

// Stop stops every component it started (by process group, SIGTERM then
// SIGKILL) in reverse order, and removes the cluster's temporary directory.
func (c *Cluster) Stop() {
	c.stop(true)
}

// StopKeepFiles stops the components but keeps the files (logs) on disk.
func (c *Cluster) StopKeepFiles() {
	c.stop(false)
}

func (c *Cluster) stop(removeFiles bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	c.stopDataPlane()
	procs := append([]*proc(nil), c.procs...)
	c.mu.Unlock()
	if c.agentStop != nil {
		c.agentStop()
	}
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		if p.exited() {
			continue
		}
		pid := p.cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-p.done
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL) // anything left in its group
	}
	if removeFiles && c.ownDir {
		_ = os.RemoveAll(c.dir)
	}
}

// sweepStaleDirs removes the directories of test clusters whose process is
// gone (a test binary that was killed cannot clean up after itself).
func sweepStaleDirs(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		pidStr, _, ok := strings.Cut(e.Name(), "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue // still running
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
			_ = os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
}
