package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/internal/testcluster/dataplane"
)

// spawnDataPlane starts "testcluster dataplane" in a session of its own
// (it outlives up, like the components) and waits for its address file.
// $CUTOVER_DATAPLANE=off starts none; $CUTOVER_DATAPLANE_DELAY sets its
// propagation delay.
func spawnDataPlane(ctx context.Context, dir, kubeconfig string) (*testcluster.Process, error) {
	if os.Getenv(testcluster.EnvDataPlane) == "off" {
		return nil, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addrFile := filepath.Join(dir, testcluster.DataPlaneFile)
	_ = os.Remove(addrFile)
	log, err := os.OpenFile(filepath.Join(dir, "logs", "dataplane-process.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(self, "dataplane", "-kubeconfig", kubeconfig, "-dir", dir)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the data plane: %w", err)
	}
	p := &testcluster.Process{Name: "dataplane", Pid: cmd.Process.Pid, Exe: self}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		if a, err := dataplane.ReadAddrs(addrFile); err == nil {
			logf("data plane up: router %s, propagation delay %s; service addresses: testcluster addr svc/NAMESPACE/NAME", a.Router, a.Delay)
			return p, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("the data plane exited: %v (see %s)", err, log.Name())
		case <-deadline:
			testcluster.StopProcesses([]testcluster.Process{*p}, 5*time.Second)
			return nil, fmt.Errorf("the data plane did not start in 60s (see %s)", log.Name())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond): // the address file has no watch
		}
	}
}

// dataPlaneMain runs the addr and dataplane subcommands.
func dataPlaneMain(cmd string, args []string) int {
	var err error
	if cmd == "addr" {
		err = cmdAddr(args)
	} else {
		err = runDataPlane(args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testcluster:", err)
		return 1
	}
	return 0
}

// runDataPlane serves until SIGTERM.
func runDataPlane(args []string) error {
	fs := flag.NewFlagSet("dataplane", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "admin kubeconfig")
	dir := fs.String("dir", "", "the cluster's directory (address file, logs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var delay time.Duration
	if v := os.Getenv(testcluster.EnvDataPlaneDelay); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s=%q: %v", testcluster.EnvDataPlaneDelay, v, err)
		}
		delay = d
		if d <= 0 {
			delay = -1
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dp, err := testcluster.StartDataPlane(ctx, *dir, cfg, delay)
	if err != nil {
		return err
	}
	<-ctx.Done()
	dp.Stop()
	return nil
}

// cmdAddr prints a Service proxy's or the router's host:port.
func cmdAddr(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: testcluster addr svc/NAMESPACE/NAME[:PORT] | router")
	}
	dir, err := stateDir()
	if err != nil {
		return err
	}
	a, err := dataplane.ReadAddrs(filepath.Join(dir, testcluster.DataPlaneFile))
	if err != nil {
		return fmt.Errorf("no data plane (make cluster-up): %v", err)
	}
	if args[0] == "router" {
		fmt.Println(a.Router)
		return nil
	}
	parts := strings.Split(args[0], "/")
	if len(parts) != 3 || parts[0] != "svc" {
		return fmt.Errorf("%q: want svc/NAMESPACE/NAME[:PORT] or router", args[0])
	}
	name, port, _ := strings.Cut(parts[2], ":")
	addr, ok := a.Service(parts[1], name, port)
	if !ok {
		return fmt.Errorf("service %s/%s port %q is not proxied (does it exist? a headless or ExternalName Service has no proxy)", parts[1], name, port)
	}
	fmt.Println(addr)
	return nil
}

// printDataPlaneEnv prints the router's address and the address file.
func printDataPlaneEnv(dir string) {
	file := filepath.Join(dir, testcluster.DataPlaneFile)
	a, err := dataplane.ReadAddrs(file)
	if errors.Is(err, os.ErrNotExist) {
		return // no data plane ($CUTOVER_DATAPLANE=off)
	}
	if err != nil {
		logf("testcluster: no %s, %s: %v", testcluster.EnvRouterAddr, testcluster.EnvDataPlaneAddrs, err)
		return
	}
	fmt.Printf("export %s=%s\n", testcluster.EnvRouterAddr, a.Router)
	fmt.Printf("export %s=%s\n", testcluster.EnvDataPlaneAddrs, file)
}
