package testcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Several control planes at once, for releases across clusters: the
// shared one (Get) and, started on first use and shared the same way,
// lighter extra ones (fake nodes only: no process nodes, no data plane).

// MaxClusters bounds Fleet: each control plane takes about half a GiB and
// a share of two cores.
const MaxClusters = 3

var (
	extraMu  sync.Mutex
	extra    []*Cluster
	extraErr error
)

// Fleet returns n control planes: the shared one first, then n-1 extra
// ones, started concurrently on first use and stopped by StopShared.
func Fleet(n int) ([]*Cluster, error) {
	if n < 1 || n > MaxClusters {
		return nil, fmt.Errorf("testcluster: %d control planes asked for, 1 to %d are possible", n, MaxClusters)
	}
	first, err := Get()
	if err != nil {
		return nil, err
	}
	extraMu.Lock()
	defer extraMu.Unlock()
	if extraErr != nil {
		return nil, extraErr
	}
	if missing := n - 1 - len(extra); missing > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		started := make([]*Cluster, missing)
		errs := make([]error, missing)
		var wg sync.WaitGroup
		for i := range started {
			wg.Add(1)
			go func() {
				defer wg.Done()
				started[i], errs[i] = Start(ctx, Options{Logf: func(format string, args ...any) {
					fmt.Fprintf(os.Stderr, format+"\n", args...)
				}})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				extraErr = err
				for _, c := range started {
					if c != nil {
						c.Stop()
					}
				}
				return nil, err
			}
			extra = append(extra, started[i])
		}
	}
	return append([]*Cluster{first}, extra[:n-1]...), nil
}

// stopExtra stops the extra control planes (StopShared).
func stopExtra(keepFiles bool) {
	extraMu.Lock()
	defer extraMu.Unlock()
	for _, c := range extra {
		if keepFiles {
			c.StopKeepFiles()
			fmt.Fprintf(os.Stderr, "testcluster: component logs kept in %s\n", c.LogDir())
		} else {
			c.Stop()
		}
	}
	extra = nil
}

// cmdClusters is the testscript command
//
//	clusters N [PREFIX]
//
// N control planes (at most MaxClusters), a fresh namespace in each.
// KUBECONFIG holds one context per cluster, c1 … cN, each in its
// namespace (current: c1); KUBECONFIG_i is a file with context ci alone,
// as a CI job that talks to one cluster has; NAMESPACE_i its namespace.
// TESTCLUSTER_KUBECONFIG (the k* commands' default) is cluster 1's: give
// the others with -kubeconfig=$KUBECONFIG_i.
func cmdClusters(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: clusters N [PREFIX]")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	cs, err := Fleet(n)
	if err != nil {
		ts.Fatalf("testcluster: %v", err)
	}
	markUsed(ts)
	prefix := ts.Name()
	if len(args) == 2 {
		prefix = args[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	all := clientcmdapi.NewConfig()
	for i, c := range cs {
		ns, _, err := c.NewNamespace(ctx, prefix)
		ts.Check(err)
		name := "c" + strconv.Itoa(i+1)
		one := clientcmdapi.NewConfig()
		for _, cfg := range []*clientcmdapi.Config{all, one} {
			cfg.Clusters[name] = &clientcmdapi.Cluster{Server: c.server, CertificateAuthorityData: c.pki.CAPEM}
			cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: c.adminToken}
			cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: ns}
		}
		one.CurrentContext = name
		path := filepath.Join(ts.Getenv("WORK"), "kubeconfig-"+name)
		ts.Check(clientcmd.WriteToFile(*one, path))
		ts.Setenv("KUBECONFIG_"+strconv.Itoa(i+1), path)
		ts.Setenv("NAMESPACE_"+strconv.Itoa(i+1), ns)
		if i == 0 {
			ts.Setenv(envDirectKubeconfig, path)
			ts.Setenv("NAMESPACE", ns)
			setDataPlaneEnv(ts, c)
			ts.Setenv("REGISTRY_URL", c.RegistryURL(ns))
		}
		ts.Logf("cluster %s: namespace %s on %s", name, ns, c.Server())
	}
	all.CurrentContext = "c1"
	path := filepath.Join(ts.Getenv("WORK"), "kubeconfig")
	ts.Check(clientcmd.WriteToFile(*all, path))
	ts.Setenv("KUBECONFIG", path)
	var servers []string
	for _, c := range cs {
		servers = append(servers, c.Server())
	}
	ts.Logf("clusters: %s", strings.Join(servers, " "))
}
