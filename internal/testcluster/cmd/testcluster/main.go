// Command testcluster manages a developer's long-running local control plane
// (the one the tests use, started detached) and builds its binaries:
//
//	testcluster bin      build the component binaries if missing; print their directory
//	testcluster up       start the cluster (if it is not running); print the kubeconfig
//	testcluster down     stop it by pid
//	testcluster status   show pids, ports and readiness; exit 1 if it is not running
//	testcluster env      print "export KUBECONFIG=...", the data plane's and the registry's addresses
//	testcluster namespace [-process] NAME
//	                     (re-)create namespace NAME, empty; -process: its pods run on the process nodes
//	testcluster addr svc/NAMESPACE/NAME[:PORT] | router
//	                     print the host:port of a Service's proxy or of the router
//	testcluster dataplane   (started by up) the service proxies and the router
//	testcluster agent    (started by up) the agent of the process nodes
//
// State (pids, ports, kubeconfig, logs, etcd data) lives in
// $CUTOVER_DEV_CLUSTER_DIR, by default ~/.cache/cutover/dev-cluster. A
// cluster in another directory is named after that directory's base name
// in its kubeconfig (context and cluster NAME, user NAME-admin), so two
// dev clusters' kubeconfigs merge; the default one is "testcluster".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cutoverhq/cutover/internal/testcluster"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

type state struct {
	Dir           string                `json:"dir"`
	Kubeconfig    string                `json:"kubeconfig"`
	Server        string                `json:"server"`
	EtcdPort      int                   `json:"etcdPort"`
	APIServerPort int                   `json:"apiserverPort"`
	BinDir        string                `json:"binDir"`
	Started       time.Time             `json:"started"`
	StartSeconds  float64               `json:"startSeconds"`
	Registry      string                `json:"registry,omitempty"`
	Processes     []testcluster.Process `json:"processes"`
}

func stateDir() (string, error) {
	if d := os.Getenv("CUTOVER_DEV_CLUSTER_DIR"); d != "" {
		return filepath.Abs(d)
	}
	return defaultStateDir()
}

func defaultStateDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".cache", "cutover", "dev-cluster"), nil
}

// clusterName is the kubeconfig name of the cluster in dir: the default
// directory's keeps testcluster.Options' default, any other is named
// after its base name.
func clusterName(dir string) string {
	if def, err := defaultStateDir(); err == nil && filepath.Clean(dir) == def {
		return ""
	}
	return filepath.Base(dir)
}

func readState(dir string) (*state, error) {
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	var s state
	return &s, json.Unmarshal(data, &s)
}

func (s *state) running() (alive, total int) {
	for _, p := range s.Processes {
		if p.Alive() {
			alive++
		}
	}
	return alive, len(s.Processes)
}

// runningState is the state of the cluster that up started.
func runningState() (*state, error) {
	dir, err := stateDir()
	if err != nil {
		return nil, err
	}
	s, err := readState(dir)
	if err != nil {
		return nil, errors.New("not running (make cluster-up)")
	}
	return s, nil
}

// client talks to the cluster as its admin.
func (s *state) client() (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "addr" || os.Args[1] == "dataplane") {
		os.Exit(dataPlaneMain(os.Args[1], os.Args[2:]))
	}
	if len(os.Args) < 2 || len(os.Args) > 2 && os.Args[1] != "agent" && os.Args[1] != "namespace" {
		fmt.Fprintln(os.Stderr, "usage: testcluster bin|up|down|status|env|namespace")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "agent":
		err = cmdAgent(ctx, os.Args[2:])
	case "bin":
		err = cmdBin(ctx)
	case "up":
		err = cmdUp(ctx)
	case "down":
		err = cmdDown()
	case "status":
		err = cmdStatus(ctx)
	case "env":
		err = cmdEnv()
	case "namespace":
		err = cmdNamespace(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want bin, up, down, status, env or namespace)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testcluster:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

func cmdBin(ctx context.Context) error {
	start := time.Now()
	b, err := testcluster.EnsureBinaries(ctx, logf)
	if err != nil {
		return err
	}
	fmt.Println(b.Dir)
	logf("binaries ready in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

func cmdUp(ctx context.Context) error {
	dir, err := stateDir()
	if err != nil {
		return err
	}
	if s, err := readState(dir); err == nil {
		if alive, total := s.running(); alive == total && total > 0 {
			logf("already running (%s)", s.Server)
			fmt.Println(s.Kubeconfig)
			return nil
		}
		logf("a previous cluster is partly gone: stopping what is left")
		testcluster.StopProcesses(s.Processes, 10*time.Second)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(dir, "state.json"))
	if _, err := testcluster.EnsureBinaries(ctx, logf); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	c, err := testcluster.Start(ctx, testcluster.Options{Dir: dir, Name: clusterName(dir), Detached: true, ProcessNodes: 2, AgentExe: self, Logf: logf})
	if err != nil {
		return err
	}
	if err := c.InstallRouteCRDs(ctx); err != nil {
		testcluster.StopProcesses(c.Processes(), 10*time.Second)
		return err
	}
	s := state{
		Dir: dir, Kubeconfig: c.Kubeconfig(), Server: c.Server(), EtcdPort: c.EtcdPort, APIServerPort: c.APIServerPort,
		BinDir: c.Binaries().Dir, Started: time.Now(), StartSeconds: c.StartDuration.Seconds(), Processes: c.Processes(),
		Registry: c.RegistryAddr(),
	}
	if p, err := spawnDataPlane(ctx, dir, c.Kubeconfig()); err != nil {
		testcluster.StopProcesses(s.Processes, 10*time.Second)
		return err
	} else if p != nil {
		s.Processes = append(s.Processes, *p)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), data, 0o644); err != nil {
		testcluster.StopProcesses(s.Processes, 10*time.Second)
		return err
	}
	logf("cluster up at %s in %s; logs in %s", c.Server(), c.StartDuration.Round(time.Millisecond), c.LogDir())
	logf("export KUBECONFIG=%s", c.Kubeconfig())
	fmt.Println(c.Kubeconfig())
	return nil
}

func cmdDown() error {
	dir, err := stateDir()
	if err != nil {
		return err
	}
	s, err := readState(dir)
	if errors.Is(err, os.ErrNotExist) {
		logf("not running")
		return nil
	}
	if err != nil {
		return err
	}
	testcluster.StopProcesses(s.Processes, 10*time.Second)
	_ = os.Remove(filepath.Join(dir, "state.json"))
	_ = os.RemoveAll(filepath.Join(dir, "etcd"))
	logf("stopped; logs kept in %s", filepath.Join(dir, "logs"))
	return nil
}

func cmdStatus(ctx context.Context) error {
	dir, err := stateDir()
	if err != nil {
		return err
	}
	s, err := readState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("not running (make cluster-up)")
	}
	if err != nil {
		return err
	}
	for _, p := range s.Processes {
		st := "running"
		if !p.Alive() {
			st = "GONE"
		}
		fmt.Printf("%-24s pid %-7d %s\n", p.Name, p.Pid, st)
	}
	fmt.Printf("server      %s (etcd on 127.0.0.1:%d)\n", s.Server, s.EtcdPort)
	fmt.Printf("kubeconfig  %s\n", s.Kubeconfig)
	fmt.Printf("logs        %s\n", filepath.Join(s.Dir, "logs"))
	if s.Registry != "" {
		fmt.Printf("registry    http://%s/NAMESPACE (process pods' logs in %s)\n", s.Registry, filepath.Join(s.Dir, "pods"))
	}
	fmt.Printf("started     %s (ready in %.1fs)\n", s.Started.Format(time.RFC3339), s.StartSeconds)
	if alive, total := s.running(); alive != total {
		return fmt.Errorf("%d of %d components are gone (make cluster-down cluster-up)", total-alive, total)
	}
	cs, err := s.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("apiserver not ready: %v", err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return err
	}
	fmt.Printf("readyz      %s, version %s\n", body, v.GitVersion)
	return nil
}

func cmdEnv() error {
	s, err := runningState()
	if err != nil {
		return err
	}
	fmt.Printf("export KUBECONFIG=%s\n", s.Kubeconfig)
	printDataPlaneEnv(s.Dir)
	if s.Registry != "" {
		// The process pods of namespace NS register at $CUTOVER_REGISTRY/NS.
		fmt.Printf("export CUTOVER_REGISTRY=http://%s\n", s.Registry)
	}
	return nil
}

// cmdAgent runs the process nodes' agent of a detached cluster until
// SIGTERM (testcluster.Start spawns it).
func cmdAgent(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "admin kubeconfig")
	dir := fs.String("dir", "", "the cluster's directory")
	nodes := fs.String("nodes", "", "comma-separated process node names")
	registry := fs.String("registry", "", "host:port the registry listens on")
	demo := fs.String("demoapp", "", "the demo server's binary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return testcluster.RunAgent(ctx, testcluster.AgentConfig{
		Client: cs, Nodes: strings.Split(*nodes, ","), Dir: *dir, Registry: *registry,
		Logf: func(format string, args ...any) {
			logf("%s %s", time.Now().UTC().Format("15:04:05.000000"), fmt.Sprintf(format, args...))
		},
		DemoApp: func(context.Context) (string, error) { return *demo, nil },
	}, nil)
}

// cmdNamespace creates a namespace, deleting it first if it exists (a demo
// starts from nothing), with -process on the process nodes.
func cmdNamespace(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("namespace", flag.ContinueOnError)
	process := fs.Bool("process", false, "every pod of the namespace runs on the process nodes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: testcluster namespace [-process] NAME")
	}
	name := fs.Arg(0)
	s, err := runningState()
	if err != nil {
		return err
	}
	cs, err := s.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := testcluster.RecreateNamespace(ctx, cs, name); err != nil {
		return err
	}
	if *process {
		return testcluster.ProcessNamespace(ctx, cs, name)
	}
	return nil
}
