package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/lock"
)

// A pipeline with target blocks: `run` releases every target wave by wave
// in this process, `run --target NAME` one target's share (a CI matrix
// job), `undo RUN`, `run --resume RUN` and `status RUN PATH` act on every
// target's journal, each in its own cluster (docs/design.md, "Targets and
// waves").

// targetOptions are o as one target's share sees them: its kubeconfig,
// context and namespace where the target block sets them.
func targetOptions(t *engine.Target, o *options) *options {
	to := *o
	if t.Kubeconfig != "" {
		to.kubeconfig = t.Kubeconfig
	}
	if t.Context != "" {
		to.context = t.Context
	}
	if t.Namespace != "" {
		to.namespace = t.Namespace
	}
	to.target = t.Name
	return &to
}

// checkTarget resolves --target against the pipeline: an unknown name is
// bad input; a pipeline without targets takes no --target.
func (c *cli) checkTarget(p *engine.Program, o *options) (*engine.Target, bool) {
	if o.target == "" {
		return nil, true
	}
	t, ok := p.TargetNamed(o.target)
	if !ok {
		if len(p.Targets) == 0 {
			c.errorf("--target %s: pipeline %q declares no target blocks", o.target, p.Name)
		} else {
			c.errorf("--target %s: pipeline %q has no such target; its targets are %s", o.target, p.Name, strings.Join(p.TargetNames(), ", "))
		}
		return nil, false
	}
	return t, true
}

// checkTargetKubeconfig refuses a target whose kubeconfig or context
// (from its block, else the command line's) is not there, naming the
// target: bad input (exit 2) found before any cluster is written to, not
// a cluster that failed (docs/ci.md, "One release, many clusters").
// to is the target's options (targetOptions).
func (c *cli) checkTargetKubeconfig(t *engine.Target, to *options) bool {
	msg := kubeconfigProblem(to.kubeconfig, to.context)
	if msg == "" {
		return true
	}
	from := ""
	if t.Context != "" || t.Kubeconfig != "" {
		from = "the target's " // from its block, or a -var it reads
	}
	c.errorf("target %s: %s%s; nothing was done", t.Name, from, msg)
	return false
}

// checkTargetKubeconfigs checks every target of p (checkTargetKubeconfig),
// saying every mistake at once, before any cluster is reached.
func (c *cli) checkTargetKubeconfigs(p *engine.Program, o *options) bool {
	ok := true
	for i := range p.Targets {
		t := &p.Targets[i]
		ok = c.checkTargetKubeconfig(t, targetOptions(t, o)) && ok
	}
	return ok
}

// checkNewRun refuses a --run-id whose journal the cluster has already: a
// retried CI job of a release. Starting it again would mix two releases in
// one journal; what the person wants is finishing it (--resume, when its
// job died while running) or putting it back (undo), which it suggests as
// commands complete for pipeline p (namespace: their -n). Found before the
// lock is taken, so nothing is written.
// share: a job of one target (--target), not a whole fleet's run.
func (c *cli) checkNewRun(ctx context.Context, st *state, p *engine.Program, runID, target, namespace string, share bool) int {
	j, err := st.store.Open(ctx, runID)
	if err != nil {
		return exitOK // not there (a new run), or the Create that follows says why
	}
	m := j.Meta()
	what, flag := "run "+runID, ""
	if target != "" {
		what += " (target " + target + ")"
	}
	if share {
		flag = target
	}
	where := ""
	if st.namespace != "" {
		where = " in namespace " + st.namespace
	}
	undo := p.Command("undo", []string{runID}, flag, namespace)
	if m.Status == journal.StatusRunning || m.Status == "" {
		c.errorf("%s exists already%s, still running: if its job died, `%s` finishes it (exit 4 while its process is alive), `%s` puts it back; a new release takes a new --run-id; nothing was done",
			what, where, p.Command("run", []string{"--resume", runID}, flag, namespace), undo)
		return exitInvalid
	}
	c.errorf("%s exists already%s and ended %s at %s: `%s` puts it back; a new release takes a new --run-id (--resume is only for a run whose job died while running); nothing was done",
		what, where, m.Status, m.Started.UTC().Format(time.RFC3339), undo)
	return exitInvalid
}

// share is one target's cluster state in a fleet run.
type share struct {
	target *engine.Target
	o      *options
	st     *state
	held   lock.Lock
	j      journal.Journal
}

// openShares reaches every target's cluster: a target whose cluster cannot
// be reached is unreachable (its wave's max_failures decides); two
// targets sharing a cluster's namespace are refused (one journal each), and
// so is a target whose namespace does not exist: bad input, said for each
// such target before any is locked.
func (c *cli) openShares(ctx context.Context, p *engine.Program, o *options) (map[string]*share, map[string]error, int) {
	shares, unreachable := map[string]*share{}, map[string]error{}
	where := map[string]string{}
	var nss []string
	if !c.checkTargetKubeconfigs(p, o) {
		return nil, nil, exitInvalid
	}
	missing := false
	for i := range p.Targets {
		t := &p.Targets[i]
		to := targetOptions(t, o)
		cl := c.cluster(to)
		st, err := c.stateFor(ctx, p, cl, to)
		var noNS *kube.NamespaceMissing
		if errors.As(err, &noNS) {
			c.errorf("target %s: %v", t.Name, err)
			missing = true
			nss = append(nss, noNS.Namespace) // its chart is still checked below
			continue
		}
		if err != nil {
			unreachable[t.Name] = fmt.Errorf("cluster unreachable: %v", err)
			continue
		}
		if cfg, err := cl.Clients(); err == nil {
			// The namespace the target releases to, also where no journal
			// or lock is kept (a dry run, --no-journal without a lock).
			ns := st.namespace
			if ns == "" {
				ns = kube.NamespaceOf(cfg, to.namespace, p.Namespace)
			}
			key := cfg.Config.Host + " " + ns
			if prev, dup := where[key]; dup {
				c.errorf("targets %s and %s both release to namespace %s of %s: each target keeps the run's journal and lock in its own namespace; give one of them another namespace", prev, t.Name, ns, cfg.Config.Host)
				return nil, nil, exitInvalid
			}
			where[key] = t.Name
			nss = append(nss, ns)
		}
		shares[t.Name] = &share{target: t, o: to, st: st}
	}
	// As for a single cluster: a chart's or overlay's workload rendered
	// into another namespace than a target's is refused before any target
	// is locked.
	if !c.checkNamespaces(p, o, nss...) || missing {
		return nil, nil, exitInvalid
	}
	return shares, unreachable, exitOK
}

// targetNamespaces are the namespaces p's targets name for themselves,
// those a plan knows without asking their clusters.
func targetNamespaces(p *engine.Program) []string {
	var nss []string
	for _, t := range p.Targets {
		nss = append(nss, t.Namespace)
	}
	return nss
}

// lockShares takes every reachable target's lock, all at once (a lock
// left by a killed run is watched for a lease duration: once, not once per
// target); a lock held by a live run releases those taken and exits 4.
func (c *cli) lockShares(ctx context.Context, p *engine.Program, shares map[string]*share, unreachable map[string]error, runID string) int {
	codes := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, sh := range shares {
		wg.Add(1)
		go func() {
			defer wg.Done()
			held, code := c.acquire(ctx, sh.st, p.Lock, runID, sh.o)
			mu.Lock()
			defer mu.Unlock()
			sh.held, codes[name] = held, code
		}()
	}
	wg.Wait()
	for _, name := range p.TargetNames() {
		switch codes[name] {
		case exitOK:
		case exitLockHeld:
			c.releaseShares(ctx, shares)
			return exitLockHeld
		default:
			if _, ok := shares[name]; ok {
				unreachable[name] = errors.New("its lock could not be taken")
				delete(shares, name)
			}
		}
	}
	return exitOK
}

// takeShares reaches every target's cluster and takes its lock for runID.
func (c *cli) takeShares(ctx context.Context, p *engine.Program, o *options, runID string) (map[string]*share, map[string]error, int) {
	shares, unreachable, code := c.openShares(ctx, p, o)
	if code == exitOK {
		code = c.lockShares(ctx, p, shares, unreachable, runID)
	}
	return shares, unreachable, code
}

func (c *cli) releaseShares(ctx context.Context, shares map[string]*share) {
	for _, sh := range shares {
		if sh.held != nil {
			sh.held.Release(context.WithoutCancel(ctx))
		}
	}
}

// runFleet releases every target of p (at path) in this process. prior, for
// --resume, holds the journals found.
func (c *cli) runFleet(ctx context.Context, p *engine.Program, path string, o *options, prior *fleetPrior, sig func() os.Signal) int {
	runID := o.runID
	if prior != nil {
		runID = prior.runID
	}
	if runID == "" {
		runID = journal.NewRunID()
	}
	shares, unreachable, code := c.openShares(ctx, p, o)
	if code == exitOK && prior != nil {
		code = c.checkFleetResumable(ctx, p, shares, runID)
	}
	for _, name := range p.TargetNames() {
		if sh, ok := shares[name]; ok && code == exitOK && prior == nil && o.runID != "" {
			code = c.checkNewRun(ctx, sh.st, p, runID, name, o.namespace, false)
		}
	}
	if code == exitOK {
		code = c.lockShares(ctx, p, shares, unreachable, runID)
	}
	if code != exitOK {
		return code
	}
	defer c.releaseShares(ctx, shares)
	fo := engine.FleetOptions{RunID: runID, Grace: time.Duration(o.grace), Shares: map[string]engine.Options{}, Unreachable: unreachable}
	for name, sh := range shares {
		var entries []journal.Entry
		j, err := c.shareJournal(ctx, p, sh, runID, prior)
		if err == nil && prior != nil {
			entries, err = j.Entries(ctx)
		}
		if err != nil {
			unreachable[name] = err
			continue
		}
		sh.j = j
		fo.Shares[name] = engine.Options{Cluster: c.cluster(sh.o), DryRun: o.dryRun == "server", Journal: j, Lock: sh.held, Namespace: sh.st.namespace, Resume: entries}
	}
	sink, closeSink := c.runSink(o, p, p.Namespace, c.cluster(o))
	fo.Sink = sink
	out, err := p.RunFleet(ctx, fo)
	closeSink()
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	if out.Result != events.LockLost {
		for _, sh := range shares {
			c.prune(sh.st, p.Name, o)
		}
	}
	return signalled(sig, out)
}

// checkFleetResumable refuses --resume of a fleet run that ended: one
// whose journal is still "running" in no target's cluster (its process
// finished, or undo ran since), which would be released again.
func (c *cli) checkFleetResumable(ctx context.Context, p *engine.Program, shares map[string]*share, runID string) int {
	var ended []string
	for _, name := range p.TargetNames() {
		sh, ok := shares[name]
		if !ok {
			continue
		}
		j, err := sh.st.store.Open(ctx, runID)
		if err != nil {
			continue
		}
		entries, err := j.Entries(ctx)
		if err != nil {
			continue
		}
		msg := endedRun(j.Meta(), entries)
		if msg == "" {
			return exitOK
		}
		ended = append(ended, msg)
	}
	if len(ended) == 0 {
		return exitOK
	}
	for _, msg := range ended {
		c.errorf("%s", msg)
	}
	return exitInvalid
}

// shareJournal starts (or, resuming, reopens) the run's journal in the
// target's cluster.
func (c *cli) shareJournal(ctx context.Context, p *engine.Program, sh *share, runID string, prior *fleetPrior) (journal.Journal, error) {
	if prior != nil {
		j, err := sh.st.store.Open(ctx, runID)
		if err == nil {
			return j, j.SetStatus(ctx, journal.StatusRunning)
		}
		if !errors.Is(err, journal.ErrNotFound) {
			return nil, err
		}
	}
	j, err := sh.st.store.Create(ctx, journal.Meta{
		RunID: runID, Pipeline: p.Name, Namespace: sh.st.namespace, Lock: p.Lock, Target: sh.target.Name, Wave: p.WaveOf(sh.target.Name),
		Holder: c.holder(), Status: journal.StatusRunning, Values: p.PlainVars(),
	})
	if err != nil {
		return nil, fmt.Errorf("cannot start the run journal: %v", err)
	}
	return j, nil
}

// fleetPrior is an existing run of a pipeline with targets.
type fleetPrior struct {
	runID string
	p     *engine.Program
}

// loadFleetRun loads the pipeline of an existing run with targets: the
// variables it started with come from the journal of the first target
// whose cluster has it (each target's journal keeps them). A run no
// target's cluster has is named once, with where each target was looked
// in.
func (c *cli) loadFleetRun(path, runID string, o *options) (*fleetPrior, int) {
	p0, ok := c.load(path, withLenient(o))
	if !ok {
		return nil, exitInvalid
	}
	if !c.checkTargetKubeconfigs(p0, o) {
		return nil, exitInvalid
	}
	var looked []string
	for i := range p0.Targets {
		t := &p0.Targets[i]
		to := targetOptions(t, o)
		to.target = ""
		_, _, where, err := c.targetJournal(context.Background(), p0, t, runID, to)
		if err != nil {
			looked = append(looked, fmt.Sprintf("target %s: %s", t.Name, where))
			continue
		}
		prior, code := c.loadForRun(path, runID, to)
		if prior == nil {
			return nil, code
		}
		o.vars, o.saved = to.vars, to.saved
		return &fleetPrior{runID: runID, p: prior.p}, exitOK
	}
	c.errorf("run %s was not found: no target's cluster has its journal (%s)", runID, strings.Join(looked, "; "))
	return nil, exitInvalid
}

// targetJournal opens run runID's journal in target t's cluster; where
// says where it was looked for ("namespace NS of HOST", or why that
// cluster could not be read), for the messages of join and undo.
// The locker is the lock's in that namespace (whether the share's job is
// alive).
func (c *cli) targetJournal(ctx context.Context, p *engine.Program, t *engine.Target, runID string, o *options) (journal.Journal, *lock.LeaseLocker, string, error) {
	to := targetOptions(t, o)
	clients, err := c.cluster(to).Clients()
	if err == nil {
		err = clients.Reachable(ctx)
	}
	if err != nil {
		return nil, nil, "unreachable: " + err.Error(), err
	}
	ns := kube.NamespaceOf(clients, to.namespace, p.Namespace)
	where := fmt.Sprintf("namespace %s of %s", ns, clients.Config.Host)
	j, err := runStore(clients, ns, to).Open(ctx, runID)
	switch {
	case errors.Is(err, journal.ErrNotFound):
		return nil, nil, "not in " + where, err
	case err != nil:
		return nil, nil, where + ": unreadable: " + err.Error(), err
	}
	return j, lock.NewLeaseLocker(clients, ns), where, nil
}

func withLenient(o *options) *options {
	l := *o
	l.lenient = true
	return &l
}

// undoFleet undoes run runID on every target whose cluster has its
// journal: waves in reverse order, target by target.
func (c *cli) undoFleet(ctx context.Context, path, runID string, o *options) int {
	fp, code := c.loadFleetRun(path, runID, o)
	if fp == nil {
		return code
	}
	p := fp.p
	shares, unreachable, code := c.takeShares(ctx, p, o, runID)
	if code != exitOK {
		return code
	}
	defer c.releaseShares(ctx, shares)
	fo := engine.FleetOptions{RunID: runID, Shares: map[string]engine.Options{}, NothingToUndo: map[string]string{}}
	for name, sh := range shares {
		j, err := sh.st.store.Open(ctx, runID)
		if errors.Is(err, journal.ErrNotFound) {
			// The release never reached this target: named, not a failure.
			fo.NothingToUndo[name] = "no journal for run " + runID
			continue
		}
		var entries []journal.Entry
		if err == nil {
			entries, err = j.Entries(ctx)
		}
		if err != nil {
			unreachable[name] = err
			continue
		}
		if why := undoneAlready(j.Meta(), entries); why != "" {
			fo.NothingToUndo[name] = why
			continue
		}
		// A succeeded release that a later one followed is undone only
		// with --force, on any target (as for one cluster).
		if code := c.undoAllowed(ctx, &priorRun{meta: j.Meta(), state: sh.st}, o); code != exitOK {
			return code
		}
		fo.Shares[name] = engine.Options{Cluster: c.cluster(sh.o), Journal: j, Lock: sh.held, Namespace: sh.st.namespace, Resume: entries, Force: o.force}
	}
	for name, err := range unreachable {
		c.errorf("target %s: %v: not undone", name, err)
	}
	if len(fo.Shares) == 0 && len(unreachable) == 0 {
		// Nothing anywhere: said per target, no undo started (with -o
		// json, stdout is for events: a note on stderr).
		out := c.stdout
		if o.output == "json" {
			out = c.stderr
		}
		for _, name := range p.TargetNames() {
			if why, ok := fo.NothingToUndo[name]; ok {
				fmt.Fprintf(out, "run %s: nothing to undo on target %s: %s\n", runID, name, why)
			}
		}
		return exitOK
	}
	sink, closeSink := c.runSink(o, p, p.Namespace, c.cluster(o))
	fo.Sink = sink
	out, err := p.UndoFleet(ctx, fo)
	closeSink()
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	if out.Result == events.UndoIncomplete || len(unreachable) > 0 {
		return exitIncomplete
	}
	return exitOK
}

// statusFleet shows run runID on every target of the pipeline at path:
// each target's journal, read in its own cluster.
func (c *cli) statusFleet(runID, path string, o *options) int {
	p, ok := c.load(path, withLenient(o))
	if !ok {
		return exitInvalid
	}
	if len(p.Targets) == 0 {
		return c.statusRun(runID, p.Namespace, o)
	}
	if !c.checkTargetKubeconfigs(p, o) {
		return exitInvalid
	}
	code, anywhere, reached := exitOK, false, true
	for i := range p.Targets {
		t := &p.Targets[i]
		to := targetOptions(t, o)
		if to.namespace == "" {
			to.namespace = p.Namespace
		}
		if o.output != "json" {
			fmt.Fprintf(c.stdout, "target %s:\n", t.Name)
		}
		runs, rc := c.listRuns(to)
		if rc != exitOK {
			if o.output != "json" {
				fmt.Fprintf(c.stdout, "  unreachable\n")
			}
			code, reached = exitFailed, false
			continue
		}
		found := false
		for _, r := range runs {
			if r.RunID == runID {
				found, anywhere = true, true
				if rc := c.printRun(r, p, to); rc != exitOK {
					code = rc
				}
			}
		}
		if !found && o.output != "json" {
			fmt.Fprintf(c.stdout, "  no run %s here (the release did not reach this target)\n", runID)
		}
	}
	if !anywhere && reached {
		// A run id no target's cluster knows: a typo, as status RUN says
		// for one cluster.
		c.errorf("run %s was not found on any target of pipeline %q", runID, p.Name)
		return exitInvalid
	}
	return code
}
