package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/term"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/lock"
	"github.com/cutoverhq/cutover/report"
	"github.com/cutoverhq/cutover/steps"
)

func cmdRun(c *cli, args []string) int {
	code := runCommand(c, args)
	c.reportNotStarted(code)
	return code
}

// notStartedResult is the step output result of a run that stopped before its
// reports were written, by its exit code: the same words as a run's
// (docs/ci.md), and "locked" for a lock another run holds.
var notStartedResult = map[int]string{
	exitFailed:      string(events.FailedUndone), // nothing was changed
	exitInvalid:     "invalid",
	exitLockHeld:    "locked",
	exitInterrupted: string(events.Interrupted),
	exitTerminated:  string(events.Interrupted),
}

// reportNotStarted gives a run that ended before any report was written
// (the lock held, the cluster unreachable, a retried --run-id) what a run
// that started gets on GitHub Actions: the step output result, and its
// last error as an ::error annotation on the run's page, which otherwise
// is only a line in the log.
func (c *cli) reportNotStarted(code int) {
	if code == exitOK || c.reported {
		return
	}
	title, msg := "cutover: run not started", c.lastError
	if code == exitLockHeld {
		title = "cutover: lock held"
	}
	if msg == "" {
		msg = fmt.Sprintf("exit %d: the step's log says why", code)
	}
	// stderr: the runner reads workflow commands there too, and stdout may
	// be -o json's events.
	if err := report.GitHubNotStarted(c.stderr, c.getenv, notStartedResult[code], title, msg); err != nil {
		c.errorf("writing reports: %v", err)
	}
}

func runCommand(c *cli, args []string) int {
	o, path, ok := c.parsePath("run", args)
	if !ok || !c.checkStateFlags(o) || !c.checkRunID(o) {
		return exitInvalid
	}
	ctx, sig := c.signalContext()
	opts := engine.Options{DryRun: o.dryRun == "server", Grace: time.Duration(o.grace)}
	var (
		p     *engine.Program
		prior *priorRun
		st    *state
		err   error
	)
	if o.resume != "" {
		p0, ok := c.load(path, withLenient(o))
		if !ok {
			return exitInvalid
		}
		if len(p0.Targets) > 0 {
			t, ok := c.checkTarget(p0, o)
			if !ok {
				return exitInvalid
			}
			if t == nil {
				fp, code := c.loadFleetRun(path, o.resume, o)
				if fp == nil {
					return code
				}
				return c.runFleet(ctx, fp.p, path, o, fp, sig)
			}
			o = targetOptions(t, o)
		}
		var code int
		if prior, code = c.loadForRun(path, o.resume, o); prior == nil {
			return code
		}
		if msg := endedRun(prior.meta, prior.entries); msg != "" {
			c.errorf("%s", msg)
			return exitInvalid
		}
		p, opts.Resume = prior.p, prior.entries
		st = prior.state
	} else if p, ok = c.load(path, o); !ok {
		return exitInvalid
	}
	t, ok := c.checkTarget(p, o)
	if !ok {
		return exitInvalid
	}
	if len(p.Targets) > 0 && t == nil {
		return c.runFleet(ctx, p, path, o, nil, sig)
	}
	if t != nil {
		// One target's share: an ordinary run against its cluster, under
		// the run id every job of the release gives (--run-id).
		o = targetOptions(t, o)
		opts.Target, opts.Namespace = t.Name, o.namespace
		if !c.checkTargetKubeconfig(t, o) {
			return exitInvalid
		}
	}
	c.applyNamespace(p, o)
	if !c.hasKubeconfig(o) {
		// Found before anything runs, and only without a cluster (it reads
		// the stages' manifests): otherwise the stages before the first
		// Kubernetes one (commands, webhooks) would act, unlocked and
		// unjournaled, and the run fail half-way.
		if need := clusterStages(p); len(need) > 0 {
			c.errorf("stages %s need a Kubernetes cluster, and no kubeconfig is configured (--kubeconfig, $KUBECONFIG, ~/.kube/config, or in-cluster): nothing was run", strings.Join(need, ", "))
			return exitInvalid
		}
	}
	cl := c.cluster(o)
	opts.Cluster = cl
	if st == nil {
		if st, err = c.stateFor(ctx, p, cl, o); err != nil {
			c.errorf("%v", err)
			return exitOf(err)
		}
	}
	if st.namespace != "" {
		// Every stage, the journal, the lock and the pause questions use
		// this one namespace; the run's meta keeps it for approve, undo
		// and status.
		p.Namespace = st.namespace
	}
	if !c.checkNamespaces(p, o, p.Namespace) {
		return exitInvalid
	}
	runID, lockName := journal.NewRunID(), p.Lock
	if o.runID != "" {
		runID = o.runID
	}
	if prior != nil {
		runID, lockName = prior.meta.RunID, prior.lockName(p)
	}
	if prior == nil && o.runID != "" {
		if code := c.checkNewRun(ctx, st, p, runID, opts.Target, st.namespace, opts.Target != ""); code != exitOK {
			return code
		}
	}
	// The lock before the journal: a run refused by the lock leaves nothing
	// behind that says "running".
	held, code := c.acquire(ctx, st, lockName, runID, o)
	if code != exitOK {
		return code
	}
	if held != nil {
		defer held.Release(context.WithoutCancel(ctx))
		opts.Lock = held
	}
	var j journal.Journal
	if prior != nil {
		j = prior.journal
		if err := j.SetStatus(ctx, journal.StatusRunning); err != nil {
			c.errorf("%v", err)
			return exitFailed
		}
	} else {
		j, err = st.store.Create(ctx, journal.Meta{
			RunID: runID, Pipeline: p.Name, Namespace: st.namespace, Lock: lockName, Target: opts.Target, Wave: p.WaveOf(opts.Target),
			Holder: c.holder(), Status: journal.StatusRunning, Values: p.PlainVars(),
		})
		if err != nil {
			c.errorf("cannot start the run journal: %v", err)
			return exitFailed
		}
	}
	opts.RunID = runID
	opts.Journal = j

	red := p.Redactor()
	sink, closeSink := c.runSink(o, p, p.Namespace, cl)
	opts.Sink = sink
	out, err := p.Run(ctx, opts)
	closeSink()
	if err != nil {
		c.errorf("%v", red.String(err.Error()))
		return exitFailed
	}
	if out.Result != events.LockLost {
		c.prune(st, p.Name, o)
	}
	return signalled(sig, out)
}

// signalled is the run's exit code: the signal's when one stopped it.
func signalled(sig func() os.Signal, out *engine.Outcome) int {
	if s := sig(); s != nil {
		if s == syscall.SIGTERM {
			return exitTerminated
		}
		return exitInterrupted
	}
	return out.ExitCode()
}

// acquire takes the pipeline's lock for runID, waiting as --wait-lock says.
// No locker (no cluster, a dry run) or no lock name (lock = false) is no lock.
func (c *cli) acquire(ctx context.Context, st *state, name, runID string, o *options) (lock.Lock, int) {
	if st.locker == nil || name == "" {
		return nil, exitOK
	}
	l, err := st.locker.Acquire(ctx, name, lock.Holder{RunID: runID, Who: c.holder()}, lock.Options{
		Wait:   time.Duration(o.waitLock),
		OnWait: func(msg string) { fmt.Fprintln(c.stderr, "cutover: "+msg) },
	})
	var held *lock.HeldError
	var released *lock.ReleasedError
	switch {
	case errors.As(err, &held) && held.Holder.RunID == runID:
		// undo RUN or --resume RUN of a run whose process still renews
		// its lock: not a conflict with another run, the run itself.
		c.errorf("run %s is still running (%s, renewed %s ago): let it end, answer or abort its pause if it waits at one, or stop its process first; nothing was changed",
			runID, process(held.Holder.Who), time.Since(held.Renewed).Round(time.Second))
		return nil, exitLockHeld
	case errors.As(err, &held):
		c.errorf("%v", held)
		return nil, exitLockHeld
	case errors.As(err, &released):
		c.errorf("%s", c.endedWhileWatched(ctx, st, released))
		return nil, exitLockHeld
	case err != nil:
		// The lock's errors name it: no prefix saying so again.
		c.errorf("%v", err)
		return nil, exitFailed
	}
	return l, exitOK
}

// process names who holds a lock as a person reads it: "pid P on HOST"
// for a process started by hand (Who is user@host (pid P), as holder
// writes it), else Who as it is (a CI job's URL).
func process(who string) string {
	at, rest, ok := strings.Cut(who, "@")
	host, pid, ok2 := strings.Cut(rest, " (pid ")
	if !ok || !ok2 || !strings.HasSuffix(pid, ")") || at == "" {
		if who == "" {
			return "its process unnamed"
		}
		return who
	}
	return fmt.Sprintf("pid %s on %s", strings.TrimSuffix(pid, ")"), host)
}

// endedWhileWatched says that the run holding the lock when this command
// started ended normally while it was watched: going ahead would release
// on top of it (an older version after a newer one), so nothing was done.
// Its result is read from its journal beside the lock, when it is there.
func (c *cli) endedWhileWatched(ctx context.Context, st *state, e *lock.ReleasedError) string {
	result := ""
	if j, err := st.store.Open(ctx, e.Holder.RunID); err == nil && j.Meta().Status != journal.StatusRunning {
		result = " (" + j.Meta().Status + ")"
	}
	return fmt.Sprintf("%s ended%s while this command waited to see whether it still renewed lock %q: nothing was changed; run this command again if it is still wanted",
		e.Holder, result, e.Name)
}

// prune keeps the last --history-max runs of the pipeline, as Helm keeps
// releases: run state must not grow without bound in a namespace.
func (c *cli) prune(st *state, pipeline string, o *options) {
	if o.historyMax <= 0 {
		return
	}
	if _, err := st.store.Prune(context.Background(), pipeline, int(o.historyMax)); err != nil {
		c.errorf("warning: removing old runs of %s: %v", pipeline, err)
	}
}

func (c *cli) checkStateFlags(o *options) bool {
	switch o.state {
	case journal.BackendSecret, journal.BackendConfigMap:
	default:
		c.errorf("--state is %q or %q, not %q", journal.BackendSecret, journal.BackendConfigMap, o.state)
		return false
	}
	if o.historyMax < 0 {
		c.errorf("--history-max must be 0 (keep all) or more, not %d", o.historyMax)
		return false
	}
	return true
}

// signalName is the signal as the exit codes and CI docs name it (SIGINT,
// SIGTERM); Go's own String is "interrupt" / "terminated", which read as
// "interrupted by interrupt".
func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// signalContext is cancelled by the first SIGINT or SIGTERM (a cancelled CI
// job); the returned func says which one arrived. On a terminal a second
// signal exits at once: the person pressing ^C twice means it. In CI a
// second signal is the runner escalating on its own schedule (GitHub sends
// SIGTERM 7.5 s after SIGINT, Jenkins repeats its SIGTERM): the undo goes on
// within --grace until the CI's own kill (docs/ci.md).
func (c *cli) signalContext() (context.Context, func() os.Signal) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	var got os.Signal
	done := make(chan struct{})
	interactive := c.interactive()
	go func() {
		s := <-ch
		got = s
		close(done)
		name := signalName(s)
		again := "again to exit at once"
		if !interactive {
			again = "within --grace"
		}
		fmt.Fprintf(c.stderr, "cutover: %s received: stopping, undoing what this run changed (%s)\n", name, again)
		cancel(fmt.Errorf("interrupted by %s", name))
		for s := range ch {
			if interactive {
				if s == syscall.SIGTERM {
					os.Exit(exitTerminated)
				}
				os.Exit(exitInterrupted)
			}
			fmt.Fprintf(c.stderr, "cutover: %s received again: still undoing (within --grace)\n", signalName(s))
		}
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

// interactive says whether a person at a terminal runs cutover (not CI).
func (c *cli) interactive() bool {
	if c.getenv("CI") != "" || c.getenv("GITHUB_ACTIONS") != "" || c.getenv("GITLAB_CI") != "" || c.getenv("JENKINS_URL") != "" {
		return false
	}
	f, ok := c.stderr.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

func (c *cli) applyNamespace(p *engine.Program, o *options) {
	if o.namespace != "" {
		p.Namespace = o.namespace
	}
}

// checkNamespaces runs the checks that need the namespace the run acts in
// (a chart's or overlay's workload rendered into another), for each of
// nss once it is known ("" is not); false when one failed (printed).
func (c *cli) checkNamespaces(p *engine.Program, o *options, nss ...string) bool {
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for _, ns := range nss {
		if ns != "" && !seen[ns] {
			seen[ns] = true
			diags = appendNew(diags, p.CheckNamespace(ns))
		}
	}
	if len(diags) > 0 {
		c.printDiags(p.Config, diags, o)
	}
	return !diags.HasErrors()
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
// (a Secret and a Lease in the pipeline's namespace) when one is configured,
// else in memory. --no-journal keeps the journal in memory but still takes
// the lock: two releases at once are what the lock is for.
func (c *cli) stateFor(ctx context.Context, p *engine.Program, cl *kube.Cluster, o *options) (*state, error) {
	if o.dryRun == "server" || !c.hasKubeconfig(o) || (o.noJournal && p.Lock == "") {
		return &state{store: journal.NewMemoryStore()}, nil
	}
	clients, err := cl.Clients()
	if err != nil {
		return nil, err
	}
	if err := clients.Reachable(ctx); err != nil {
		return nil, err
	}
	ns := kube.NamespaceOf(clients, o.namespace, p.Namespace)
	if err := clients.CheckNamespace(ctx, ns); err != nil {
		return nil, err
	}
	st := &state{store: runStore(clients, ns, o), locker: lock.NewLeaseLocker(clients, ns), namespace: ns}
	if o.noJournal {
		st.store = journal.NewMemoryStore()
	}
	return st, nil
}

// holder names who runs: the CI job when there is one, else user@host.
func (c *cli) holder() string {
	if _, url, ok := report.CIJob(c.getenv); ok {
		return url
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s (pid %d)", name, host, os.Getpid())
}

// runStore is where runs live in namespace: new ones written as --state
// says, old ones found in either format. checkStateFlags has vetted
// --state, so the store cannot be refused.
func runStore(clients *kube.Clients, ns string, o *options) journal.Store {
	st, err := journal.NewClusterStore(clients, ns, o.state)
	if err != nil {
		panic(err)
	}
	return st
}

// clusterStages names the stages whose kind reaches the cluster (it asks for
// permissions there, as `cutover rbac` shows), "name (kind)".
// The block is read as far as the variables make it known (a stage's
// result and other stages' outputs are unknown), so a kind that reaches the
// cluster only with some attributes (wait with a resource, not a duration)
// is judged by what this pipeline wrote.
func clusterStages(p *engine.Program) []string {
	var out []string
	planCtx := p.EvalContext(nil)
	for _, name := range p.Order {
		st := p.Stages[name]
		pm, ok := st.Kind.(steps.Permissioner)
		if !ok {
			continue
		}
		cfg := unknownsOf(hcldec.ImpliedType(st.Kind.Spec()))
		if st.Step != nil {
			if v, diags := knownConfig(st.Step, st.Context(planCtx)); !diags.HasErrors() {
				cfg = v
			}
		}
		perms, err := pm.Permissions(&steps.Env{Pipeline: p.Name, Stage: name, Dir: p.Config.Dir, Namespace: p.Namespace}, cfg)
		if err == nil && len(perms) > 0 {
			out = append(out, fmt.Sprintf("%s (%s)", name, st.Kind.Name()))
		}
	}
	return out
}

// unknownsOf is a value of type ty whose attributes are all unknown: what a
// kind sees of a block before any variable is read.
func unknownsOf(ty cty.Type) cty.Value {
	if !ty.IsObjectType() {
		return cty.UnknownVal(ty)
	}
	attrs := map[string]cty.Value{}
	for name, at := range ty.AttributeTypes() {
		attrs[name] = cty.UnknownVal(at)
	}
	return cty.ObjectVal(attrs)
}
