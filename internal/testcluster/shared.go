package testcluster

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

var (
	sharedOnce    sync.Once
	shared        *Cluster
	sharedErr     error
	sharedPtr     atomic.Pointer[Cluster]
	sharedFailure atomic.Bool
)

// Get returns the test binary's shared control plane, starting it on first
// use (building the component binaries first if they are missing). It is
// safe for parallel tests; all of them share the one control plane, each in
// a namespace of its own ([Cluster.NewNamespace]). Stop it with [StopShared],
// or let [Main] do it.
func Get() (*Cluster, error) {
	sharedOnce.Do(func() {
		// Generous: the first use on a fresh machine includes a cold build.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		shared, sharedErr = Start(ctx, Options{ProcessNodes: 2, Logf: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, format+"\n", args...)
		}})
		if sharedErr == nil {
			sharedErr = startSharedDataPlane(ctx, shared)
		}
		if sharedErr == nil {
			sharedPtr.Store(shared)
		}
	})
	return shared, sharedErr
}

// Running returns the shared control plane if it was started, else nil.
func Running() *Cluster {
	return sharedPtr.Load()
}

// MarkFailed records that a test using the shared cluster failed, so that
// StopShared keeps the component logs.
func MarkFailed() { sharedFailure.Store(true) }

// StopShared stops the shared control plane, if it was started. Its files
// are removed unless keepLogs or a failure was recorded (MarkFailed); then
// the log directory is printed.
func StopShared(keepLogs bool) {
	stopExtra(keepLogs || sharedFailure.Load())
	c := Running()
	if c == nil {
		return
	}
	if keepLogs || sharedFailure.Load() {
		c.StopKeepFiles()
		fmt.Fprintf(os.Stderr, "testcluster: component logs kept in %s\n", c.LogDir())
		return
	}
	c.Stop()
}

// Main is for TestMain: it runs testscript.Main (cmds are the programs
// scripts may exec, as in testscript.Main) and stops the shared control
// plane after the tests ran.
//
//	func TestMain(m *testing.M) {
//		testcluster.Main(m, map[string]func(){"cutover": cli.Main})
//	}
func Main(m *testing.M, cmds map[string]func()) {
	testscript.Main(mainRunner{m}, cmds)
}

type mainRunner struct{ m *testing.M }

func (r mainRunner) Run() int {
	code := r.m.Run()
	StopShared(code != 0)
	return code
}

// Params returns testscript parameters for the scripts in dir with the
// cluster commands (Cmds) and Setup.
func Params(dir string) testscript.Params {
	return testscript.Params{Dir: dir, Cmds: Cmds(), Setup: Setup}
}

// Setup is a testscript Setup function: when a scenario that used the
// cluster fails, it logs the tails of the components' logs.
// Chain it from your own Setup if you have one.
func Setup(env *testscript.Env) error {
	used := new(atomic.Bool) // set by the cluster command
	if env.Values == nil {
		env.Values = map[any]any{}
	}
	env.Values[usedKey{}] = used
	env.Defer(func() {
		t, ok := env.T().(interface{ Failed() bool })
		c := Running()
		if !ok || !t.Failed() || c == nil || !used.Load() {
			return
		}
		MarkFailed()
		env.T().Log("testcluster: component log tails (all logs in " + c.LogDir() + "):\n" + c.LogTails(25))
	})
	return nil
}

type usedKey struct{}

// markUsed records that the scenario uses the cluster (see Setup).
func markUsed(ts *testscript.TestScript) {
	if used, ok := ts.Value(usedKey{}).(*atomic.Bool); ok {
		used.Store(true)
	}
}

// Namespace gives the Go test t a fresh namespace on the shared control
// plane (the test is skipped with -short), a context bounded by timeout and
// the namespace's kubeconfig; a failed test keeps the component logs.
func Namespace(t testing.TB, prefix string, timeout time.Duration) (ctx context.Context, ns, kubeconfig string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test on the local control plane; skipped with -short")
	}
	c, err := Get()
	if err != nil {
		t.Fatalf("local control plane: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	t.Cleanup(func() {
		if t.Failed() {
			MarkFailed()
		}
	})
	ns, kubeconfig, err = c.NewNamespace(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, ns, kubeconfig
}
