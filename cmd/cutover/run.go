package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"syscall"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/lock"
)

func cmdRun(c *cli, args []string) int {
	o, path, ok := c.parsePath("run", args)
	if !ok {
		return exitInvalid
	}
	ctx, sig := c.signalContext()
	opts := engine.Options{DryRun: o.dryRun == "server", Grace: o.grace, WaitLock: o.waitLock, Holder: c.holder()}
	var p *engine.Program
	var j journal.Journal
	if o.resume != "" {
		var code int
		p, j, opts.Resume, code = c.loadForRun(path, o.resume, o)
		if p == nil {
			return code
		}
		if err := j.SetStatus(ctx, "running"); err != nil {
			c.errorf("%v", err)
			return exitFailed
		}
	} else if p, ok = c.load(path, o); !ok {
		return exitInvalid
	}
	c.applyNamespace(p, o)
	cl := c.cluster(o)
	opts.Cluster = cl
	st, err := c.stateFor(ctx, p, cl, o)
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	if j == nil {
		j, err = st.store.Create(ctx, journal.Meta{
			RunID: journal.NewRunID(), Pipeline: p.Name, Namespace: st.namespace, Lock: p.Lock,
			Holder: opts.Holder, Status: "running", Vars: p.PlainVars(),
		})
		if err != nil {
			c.errorf("cannot start the run journal: %v", err)
			return exitFailed
		}
	}
	opts.RunID = j.Meta().RunID
	opts.Journal = j
	opts.Locker = st.locker

	red := p.Redactor()
	sink := c.sink(o, p.Secrets())
	opts.Sink = sink
	out, err := p.Run(ctx, opts)
	c.closeSink(sink)
	var held *lock.HeldError
	switch {
	case errors.As(err, &held):
		c.errorf("%v", held)
		return exitLockHeld
	case err != nil:
		c.errorf("%v", red.String(err.Error()))
		return exitFailed
	}
	if s := sig(); s != nil {
		if s == syscall.SIGTERM {
			return 143
		}
		return exitInterrupted
	}
	return out.ExitCode()
}

// signalContext is cancelled by the first SIGINT or SIGTERM (a cancelled CI
// job); the returned func says which one arrived. A second signal exits at
// once: the person pressing ^C twice means it.
func (c *cli) signalContext() (context.Context, func() os.Signal) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	var got os.Signal
	done := make(chan struct{})
	go func() {
		s := <-ch
		got = s
		close(done)
		fmt.Fprintf(c.stderr, "cutover: %s received: stopping, undoing what this run changed (again to exit at once)\n", s)
		cancel(fmt.Errorf("interrupted by %s", s))
		s = <-ch
		if s == syscall.SIGTERM {
			os.Exit(143)
		}
		os.Exit(exitInterrupted)
	}()
	return ctx, func() os.Signal {
		select {
		case <-done:
			return got
		default:
			return nil
		}
	}
}

func (c *cli) applyNamespace(p *engine.Program, o *options) {
	if o.namespace != "" {
		p.Namespace = o.namespace
	}
}

func (c *cli) cluster(o *options) *kube.Cluster {
	return kube.New(kube.Options{Kubeconfig: o.kubeconfig, Context: o.context, Namespace: o.namespace})
}

// hasKubeconfig says whether any cluster is configured, the way kubectl
// would find one. Without one, a run keeps its journal in memory: a
// pipeline of exec and http stages needs no cluster.
func (c *cli) hasKubeconfig(o *options) bool {
	if o.kubeconfig != "" || c.getenv("KUBECONFIG") != "" || c.getenv("KUBERNETES_SERVICE_HOST") != "" {
		return true
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(home, ".kube", "config"))
	return err == nil
}

type state struct {
	store     journal.Store
	locker    lock.Locker
	namespace string
}

// stateFor picks where the run is journaled and locked: in the cluster
// (ConfigMap and Lease in the pipeline's namespace) when one is configured
// and --no-journal is not given, else in memory.
func (c *cli) stateFor(ctx context.Context, p *engine.Program, cl *kube.Cluster, o *options) (*state, error) {
	if o.noJournal || o.dryRun == "server" || !c.hasKubeconfig(o) {
		return &state{store: journal.NewMemoryStore()}, nil
	}
	clients, err := cl.Clients()
	if err != nil {
		return nil, err
	}
	if err := clients.Reachable(ctx); err != nil {
		return nil, err
	}
	ns := p.Namespace
	if ns == "" {
		ns = clients.Namespace
	}
	return &state{store: journal.NewConfigMapStore(clients, ns), locker: lock.NewLeaseLocker(clients, ns), namespace: ns}, nil
}

// holder names who runs: the CI job when there is one, else user@host.
func (c *cli) holder() string {
	switch {
	case c.getenv("GITHUB_RUN_ID") != "":
		return fmt.Sprintf("%s/%s/actions/runs/%s", c.getenv("GITHUB_SERVER_URL"), c.getenv("GITHUB_REPOSITORY"), c.getenv("GITHUB_RUN_ID"))
	case c.getenv("CI_JOB_URL") != "":
		return c.getenv("CI_JOB_URL")
	case c.getenv("BUILD_URL") != "":
		return c.getenv("BUILD_URL")
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s (pid %d)", name, host, os.Getpid())
}
