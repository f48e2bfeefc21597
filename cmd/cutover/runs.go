package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/lock"
	"github.com/cutoverhq/cutover/steps/pause"
)

// priorRun is an existing run, loaded for --resume or undo.
type priorRun struct {
	p       *engine.Program
	journal journal.Journal
	meta    journal.Meta
	entries []journal.Entry
	state   *state
}

// lockName is the lock the run took: the one its journal names, so a
// pipeline edited since (another lock name) still meets the run's holder.
func (r *priorRun) lockName(p *engine.Program) string {
	if r.meta.Lock != "" {
		return r.meta.Lock
	}
	return p.Lock
}

// loadForRun loads the pipeline of an existing run (--resume, undo):
// the variables it was started with come from its journal, and those given
// now override them; sensitive ones were never stored and must be given.
func (c *cli) loadForRun(path, runID string, o *options) (*priorRun, int) {
	cfg, diags := config.Load(path, nil)
	if diags.HasErrors() {
		c.printDiags(cfg, diags, o)
		return nil, exitInvalid
	}
	// The pipeline's namespace, when it does not depend on variables.
	var pipelineNS string
	if p, d := engine.Prepare(cfg, engine.Inputs{Vars: o.vars, VarFiles: o.varFiles, Env: c.environ}); !d.HasErrors() {
		pipelineNS = p.Namespace
	}
	clients, err := c.cluster(o).Clients()
	if err != nil {
		c.errorf("%v", err)
		return nil, exitOf(err)
	}
	// -n naming a namespace that does not exist is said as such, not as a
	// run not found there.
	if o.namespace != "" {
		if err := clients.CheckNamespace(context.Background(), o.namespace); err != nil {
			c.errorf("%v", err)
			return nil, exitOf(err)
		}
	}
	// The journal is where the run resolved its namespace; the lock is
	// beside it, and an undo acts there (cmdUndo).
	j, ns, err := c.findRun(context.Background(), clients, runID, o, pipelineNS)
	if err != nil {
		c.errorf("%v", err)
		return nil, exitOf(err)
	}
	st := &state{store: runStore(clients, ns, o), locker: lock.NewLeaseLocker(clients, ns), namespace: ns}
	if m := j.Meta(); cfg.Pipeline != nil && m.Pipeline != cfg.Pipeline.Name {
		c.errorf("run %s is a run of pipeline %q, not of %q at %s: give that pipeline's directory", runID, m.Pipeline, cfg.Pipeline.Name, path)
		return nil, exitInvalid
	}
	// The values the run was started with, as values; a journal written
	// before they were kept as such has them as -var text.
	var saved []string
	for k, v := range j.Meta().Vars {
		saved = append(saved, k+"="+v)
	}
	sort.Strings(saved)
	o.vars = append(saved, o.vars...)
	if o.saved, err = engine.SavedValues(j.Meta().Values); err != nil {
		c.errorf("run %s: %v", runID, err)
		return nil, exitInvalid
	}
	if need := sensitiveMissing(cfg, engine.Inputs{Vars: o.vars, VarFiles: o.varFiles, Env: c.environ, Saved: o.saved}); len(need) > 0 {
		var how []string
		for _, n := range need {
			how = append(how, fmt.Sprintf("-var %s=VALUE or CUTOVER_VAR_%s", n, n))
		}
		c.errorf("run %s was started with the sensitive %s %s, and sensitive values are never stored: give %s again, as when the run started (%s); nothing was done",
			runID, words.Noun(len(need), "variable"), strings.Join(need, ", "), map[bool]string{true: "it", false: "them"}[len(need) == 1], strings.Join(how, "; "))
		return nil, exitInvalid
	}
	p, ok := c.load(path, o)
	if !ok {
		return nil, exitInvalid
	}
	c.applyNamespace(p, o)
	entries, err := j.Entries(context.Background())
	if err != nil {
		c.errorf("reading the journal of run %s: %v", runID, err)
		return nil, exitFailed
	}
	return &priorRun{p: p, journal: j, meta: j.Meta(), entries: entries, state: st}, exitOK
}

// endedRun says why a run cannot be resumed: --resume finishes a run
// whose job died while it was "running"; a run that ended (succeeded,
// failed, undone) would be released again, skipping the gates it passed.
// "" when the run is still running.
func endedRun(m journal.Meta, entries []journal.Entry) string {
	if resumable(m) {
		return ""
	}
	at := m.Started
	if len(entries) > 0 {
		at = entries[len(entries)-1].Time
	}
	what := "run " + m.RunID
	if m.Target != "" {
		what += " (target " + m.Target + ")"
	}
	return fmt.Sprintf("%s ended %s at %s; --resume is for a run whose job died while it was running: start a new run (without --resume); nothing was done",
		what, m.Status, at.UTC().Format(time.RFC3339))
}

// resumable says whether --resume takes run m: one still "running" in its
// journal (endedRun says why another is refused; completion offers these).
func resumable(m journal.Meta) bool {
	return m.Status == journal.StatusRunning || m.Status == ""
}

// sensitiveMissing names the sensitive variables without a default that in
// does not give: a run's journal never stores them, so undo and --resume
// must be given them again.
func sensitiveMissing(cfg *config.Config, in engine.Inputs) []string {
	in.AllowMissing = true
	p, diags := engine.Prepare(cfg, in)
	if diags.HasErrors() {
		return nil // reported, with everything else, by the load that follows
	}
	var out []string
	for _, n := range p.Missing {
		if v := cfg.Variables[n]; v != nil && v.Sensitive {
			out = append(out, n)
		}
	}
	return out
}

func cmdUndo(c *cli, args []string) int {
	o, pos, ok := c.parse("undo", args)
	if !ok || !c.checkStateFlags(o) {
		return exitInvalid
	}
	if len(pos) == 0 || len(pos) > 2 {
		c.errorf("usage: cutover undo RUN [PATH]")
		return exitInvalid
	}
	path := "."
	if len(pos) == 2 {
		path = pos[1]
	} else if m, _ := filepath.Glob("*.hcl"); len(m) == 0 {
		c.errorf("usage: cutover undo RUN PATH: give the directory of the run's pipeline (the current directory holds no .hcl files)")
		return exitInvalid
	}
	ctx := context.Background()
	p0, ok := c.load(path, withLenient(o))
	if !ok {
		return exitInvalid
	}
	t, ok := c.checkTarget(p0, o)
	switch {
	case !ok:
		return exitInvalid
	case t != nil:
		o = targetOptions(t, o)
	case len(p0.Targets) > 0:
		return c.undoFleet(ctx, path, pos[0], o)
	}
	prior, code := c.loadForRun(path, pos[0], o)
	if prior == nil {
		return code
	}
	if why := undoneAlready(prior.meta, prior.entries); why != "" {
		what := "run " + prior.meta.RunID
		if prior.meta.Target != "" {
			what += " (target " + prior.meta.Target + ")"
		}
		out := c.stdout
		if o.output == "json" {
			out = c.stderr // stdout is for events
		}
		fmt.Fprintf(out, "%s was %s: nothing to undo\n", what, why)
		return exitOK
	}
	if code := c.undoAllowed(ctx, prior, o); code != exitOK {
		return code
	}
	// The run's own lock: a run whose process still renews it is alive and
	// is not undone under its feet; one that died is taken over.
	held, code := c.acquire(ctx, prior.state, prior.lockName(prior.p), prior.meta.RunID, o)
	if code != exitOK {
		return code
	}
	// Where the run acted: its journal's namespace, found wherever it is.
	opts := engine.Options{RunID: prior.meta.RunID, Cluster: c.cluster(o), Journal: prior.journal, Force: o.force, Target: prior.meta.Target, Namespace: prior.state.namespace}
	if held != nil {
		defer held.Release(context.WithoutCancel(ctx))
		opts.Lock = held
	}
	sink, closeSink := c.runSink(o, prior.p, prior.state.namespace, opts.Cluster)
	opts.Sink = sink
	out, err := prior.p.Undo(ctx, opts, prior.entries)
	closeSink()
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	if out.Result == events.UndoIncomplete || out.Result == events.LockLost {
		return exitIncomplete
	}
	return exitOK
}

// undoAllowed refuses, without --force, the undo of a succeeded run that is
// no longer the latest release of its pipeline: it would silently revert
// what every later release did.
func (c *cli) undoAllowed(ctx context.Context, r *priorRun, o *options) int {
	if o.force || r.meta.Status != string(events.Succeeded) {
		return exitOK
	}
	metas, err := r.state.store.List(ctx)
	if err != nil {
		c.errorf("listing the runs of %s: %v", r.meta.Pipeline, err)
		return exitFailed
	}
	if m := releasedAfter(r.meta, metas); m != nil {
		c.errorf("run %s succeeded, and run %s (%s, %s) released %s after it: undoing %s would revert that release too; give --force to undo it anyway",
			r.meta.RunID, m.RunID, m.Status, m.Started.Format(time.RFC3339), m.Pipeline, r.meta.RunID)
		return exitInvalid
	}
	return exitOK
}

// releasedAfter is a run of r's pipeline among metas that started after
// succeeded run r and left its release in place (not undone), nil when
// none: undo refuses r without --force then (undoAllowed).
func releasedAfter(r journal.Meta, metas []journal.Meta) *journal.Meta {
	if r.Status != string(events.Succeeded) {
		return nil
	}
	for i, m := range metas {
		if m.Pipeline != r.Pipeline || m.RunID == r.RunID || !m.Started.After(r.Started) || undone(m.Status) {
			continue
		}
		return &metas[i]
	}
	return nil
}

// undoable says whether `cutover undo` with options o takes run m, listed
// among metas: cmdUndo's rules (undoneAlready, undoAllowed), for completion.
func undoable(o *options, m journal.Meta, metas []journal.Meta) bool {
	return !undone(m.Status) && (o.force || releasedAfter(m, metas) == nil)
}

// undoneAlready says how a run left nothing changed ("undone already: its
// journal ended undone at T"), or "" when there may be something to undo.
// T is the journal's last entry, when the undo ended.
func undoneAlready(m journal.Meta, entries []journal.Entry) string {
	if !undone(m.Status) {
		return ""
	}
	at := m.Started
	if len(entries) > 0 {
		at = entries[len(entries)-1].Time
	}
	return fmt.Sprintf("undone already: its journal ended %s at %s", m.Status, at.UTC().Format(time.RFC3339))
}

// undone says whether a run with this status left nothing changed.
func undone(status string) bool {
	switch events.Result(status) {
	case events.FailedUndone, events.Interrupted, events.Undone:
		return true
	}
	return false
}

func cmdHistory(c *cli, args []string) int {
	o, pos, ok := c.parse("history", args)
	if !ok {
		return exitInvalid
	}
	switch len(pos) {
	case 0:
		runs, code := c.listRuns(o)
		if code != exitOK {
			return code
		}
		c.printRuns(runs, o)
		return exitOK
	case 1:
		return c.historyOf(pos[0], o)
	}
	c.errorf("usage: cutover history [PATH]")
	return exitInvalid
}

// historyOf lists the runs of the pipeline at path, found as status RUN
// PATH finds a run: in --namespace, else the pipeline's namespace, else
// the kubeconfig's; for a pipeline with targets, in each target's cluster
// and namespace (fleet.go, statusFleet).
func (c *cli) historyOf(path string, o *options) int {
	p, ok := c.load(path, withLenient(o))
	if !ok {
		return exitInvalid
	}
	ofPipeline := func(runs []runView) []runView {
		var out []runView
		for _, r := range runs {
			if r.Pipeline == p.Name {
				out = append(out, r)
			}
		}
		return out
	}
	if len(p.Targets) == 0 {
		po := *o
		if po.namespace == "" {
			po.namespace = p.Namespace
		}
		runs, code := c.listRuns(&po)
		if code != exitOK {
			return code
		}
		c.printRuns(ofPipeline(runs), &po)
		return exitOK
	}
	if !c.checkTargetKubeconfigs(p, o) {
		return exitInvalid
	}
	// One list: each target's runs (newest first), the targets in the
	// order they are declared; each run names its target.
	var all []runView
	code := exitOK
	for i := range p.Targets {
		t := &p.Targets[i]
		to := targetOptions(t, o)
		if to.namespace == "" {
			to.namespace = p.Namespace
		}
		runs, rc := c.listRuns(to)
		if rc != exitOK {
			code = exitFailed
			if o.output != "json" {
				fmt.Fprintf(c.stdout, "target %s:\n  unreachable\n", t.Name)
			}
			continue
		}
		runs = ofPipeline(runs)
		c.judgeRuns(runs, to)
		if o.output != "json" {
			fmt.Fprintf(c.stdout, "target %s:\n", t.Name)
			c.writeRuns(runs, o)
		}
		all = append(all, runs...)
	}
	if o.output == "json" {
		c.writeRuns(all, o)
	}
	return code
}

func cmdStatus(c *cli, args []string) int {
	o, pos, ok := c.parse("status", args)
	if !ok {
		return exitInvalid
	}
	if len(pos) > 2 {
		c.errorf("usage: cutover status [RUN [PATH]]")
		return exitInvalid
	}
	switch len(pos) {
	case 2:
		return c.statusFleet(pos[0], pos[1], o)
	case 1:
		return c.statusRun(pos[0], "", o)
	}
	runs, code := c.listRuns(o)
	if code != exitOK {
		return code
	}
	// Runs in progress, and the latest run of every pipeline.
	seen := map[string]bool{}
	var show []runView
	for _, r := range runs {
		if r.Status == journal.StatusRunning || !seen[r.Pipeline] {
			show = append(show, r)
		}
		seen[r.Pipeline] = true
	}
	c.printRuns(show, o)
	return exitOK
}

// statusRun shows run runID found where it may be (findRun): status RUN,
// and status RUN PATH of a pipeline without targets (pipelineNS, when
// known, looked at first).
func (c *cli) statusRun(runID, pipelineNS string, o *options) int {
	clients, err := c.cluster(o).Clients()
	if err == nil {
		// Said at once, not after the journal's retries for blips.
		err = clients.Reachable(context.Background())
	}
	if err != nil {
		c.errorf("%v", err)
		return exitOf(err)
	}
	j, ns, err := c.findRun(context.Background(), clients, runID, o, pipelineNS)
	if err != nil {
		hint := ""
		if pipelineNS == "" && exitOf(err) == exitInvalid {
			hint = " (or give the directory of its pipeline after the run id: the pipeline's namespace is looked in first)"
		}
		c.errorf("%v%s", err, hint)
		return exitOf(err)
	}
	m := j.Meta()
	code := c.printRun(viewOf(m, ns, lock.NewLeaseLocker(clients, ns)), nil, o)
	if m.Target != "" && code == exitOK && o.output != "json" {
		// One share of a fleet run: the others are in their own
		// clusters, which this status did not read.
		wave := ""
		if m.Wave != nil {
			wave = ", wave " + m.Wave.Name
		}
		// The journal names the pipeline, not where it is (a path on the
		// machine that ran it need not be one here): no command to
		// print, what it needs is said.
		fmt.Fprintf(c.stdout, "Shown: target %s's share (from this cluster%s). Run %s spans other targets of pipeline %q, each journaled in its own cluster: to show every target, give the directory of pipeline %q after the run id (its journal does not record where the pipeline is), with -var for any value its targets' context, kubeconfig or namespace read.\n",
			m.Target, wave, runID, m.Pipeline, m.Pipeline)
	}
	return code
}

// runView is a run as status and history show it; its JSON form is
// documented in docs/events.md ("status and history").
type runView struct {
	RunID     string `json:"run"`
	Pipeline  string `json:"pipeline"`
	Namespace string `json:"namespace,omitempty"`
	// Status is as journaled: "running", or the run's result.
	Status string `json:"status"`
	// State is as judged now: the result, or for a running journal
	// "running?", "not started", "abandoned?" or "abandoned", with Detail
	// saying why.
	State   string    `json:"state"`
	Detail  string    `json:"detail,omitempty"`
	Started time.Time `json:"started"`
	By      string    `json:"by,omitempty"`
	Lock    string    `json:"lock,omitempty"`
	// Target is the target block whose share this journal is.
	Target string `json:"target,omitempty"`
	// Undone: the run ended with everything it changed put back (its
	// result failed, undone; interrupted; or undone). A field of its own,
	// so that state keeps the result as journaled.
	Undone bool `json:"undone,omitempty"`
	// Release and Undo, for a run that `cutover undo` undid after it
	// ended: the run's own result, and how the undo ended ("undone",
	// "incomplete"); status is then the undo's result. Empty otherwise.
	Release string `json:"release,omitempty"`
	Undo    string `json:"undo,omitempty"`
}

// undoResults are the results a `cutover undo` ends a journal with: a run
// listed with one of them may have ended before it (judgeUndo reads which).
// A lost lock ends an undo too, the run's own or a later one: its journal
// tells which.
var undoResults = map[string]bool{string(events.Undone): true, string(events.UndoIncomplete): true, string(events.LockLost): true}

// undoLockLost is runView.Undo for an undo that stopped when it lost its
// lock (someone else may hold it now): what it had not undone is left.
const undoLockLost = "lock lost"

// judgeUndo tells a run's own result from that of a later `cutover undo`
// by its journal: each ending appends a result entry, so a journal with
// two or more was undone after its run ended, and the last is the undo's.
// A journal that ends lock lost once, after an undo entry, is a run whose
// own undo stopped when it lost its lock (one that lost it while its
// stages ran undid nothing, and journaled no undo).
func (r *runView) judgeUndo(entries []journal.Entry) {
	var results []string
	undid := false
	for _, e := range entries {
		switch e.Kind {
		case journal.KindResult:
			results = append(results, e.Status)
		case journal.KindUndo:
			undid = true
		}
	}
	if len(results) == 1 && results[0] == string(events.LockLost) && undid {
		r.Undo = undoLockLost
		return
	}
	if len(results) < 2 {
		return
	}
	r.Release = results[0]
	switch last := events.Result(results[len(results)-1]); last {
	case events.Undone:
		r.Undo = "undone"
	case events.UndoIncomplete:
		r.Undo = "incomplete"
	case events.LockLost:
		r.Undo = undoLockLost
	default:
		r.Undo = string(last)
	}
}

// shown is the STATUS column: the state and why. An interrupted run's
// result does not say its undo completed (one that did not ends "failed,
// undo incomplete"): the column does, as "failed, undone" does.
func (r runView) shown() string {
	s := r.State
	if r.Undone && s == string(events.Interrupted) {
		s += ", undone"
	}
	switch {
	case r.Release != "":
		// The release's outcome, then the undo's: "succeeded; undo
		// incomplete", not the undo's result alone as if the run had failed.
		undo := "undo " + r.Undo
		switch r.Undo {
		case "undone":
			undo = "undone"
		case undoLockLost:
			undo = "undo stopped, lock lost"
		}
		s = r.Release + "; " + undo
	case r.Undo == undoLockLost:
		// The run's own undo stopped: not a run that lost its lock
		// while its stages ran and undid nothing.
		s += ", undo stopped"
	}
	if r.Detail == "" {
		return s
	}
	return s + " (" + r.Detail + ")"
}

// entryView is one line of a run's journal in status RUN -o json: undo
// records (snapshots of objects) are not shown.
type entryView struct {
	Time    time.Time `json:"time"`
	Stage   string    `json:"stage,omitempty"`
	Kind    string    `json:"kind"`
	Status  string    `json:"status,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
	Message string    `json:"message,omitempty"`
	// Deadline: when the attempt or undo this entry starts must end.
	Deadline time.Time `json:"deadline,omitzero"`
}

// viewEntries are a journal's entries as status shows them: undo records
// (snapshots of objects) left out.
func viewEntries(entries []journal.Entry) []entryView {
	var view []entryView
	for _, e := range entries {
		if e.Kind != journal.KindRecord {
			view = append(view, entryView{e.Time, e.Stage, e.Kind, e.Status, e.Attempt, e.Message, e.Deadline})
		}
	}
	return view
}

// printRun shows run r as its journal in this cluster has it. p is the
// pipeline the run was asked about (status RUN PATH), nil when unknown: a
// target's share names it in the commands that answer a pause there.
func (c *cli) printRun(r runView, p *engine.Program, o *options) int {
	clients, err := c.cluster(o).Clients()
	if err != nil {
		c.errorf("%v", err)
		return exitOf(err)
	}
	j, err := runStore(clients, r.Namespace, o).Open(context.Background(), r.RunID)
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	entries, err := j.Entries(context.Background())
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	view := viewEntries(entries)
	r.judgeStart(view)
	r.judgeUndo(entries)
	var waiting []waitingView
	if r.Status == journal.StatusRunning {
		waiting = waitingFor(clients, r.Namespace, r.RunID)
	}
	for i := range waiting {
		w := &waiting[i]
		w.Approve = answerCommand(p, pause.Approve, r.RunID, w.Stage, r.Target, r.Namespace)
		w.Abort = answerCommand(p, pause.Abort, r.RunID, w.Stage, r.Target, r.Namespace)
	}
	if o.output == "json" {
		if view == nil {
			view = []entryView{}
		}
		_ = json.NewEncoder(c.stdout).Encode(struct {
			Run     runView       `json:"run"`
			Entries []entryView   `json:"entries"`
			Waiting []waitingView `json:"waiting,omitempty"`
		}{r, view, waiting})
		return exitOK
	}
	share := ""
	if r.Target != "" {
		share = ", target " + r.Target
	}
	fmt.Fprintf(c.stdout, "run %s of pipeline %q%s: %s (started %s by %s)\n", r.RunID, r.Pipeline, share, r.shown(), r.Started.Format(time.RFC3339), r.By)
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	for _, e := range view {
		msg := e.Message
		if !e.Deadline.IsZero() {
			msg = strings.TrimSpace("until " + e.Deadline.UTC().Format("15:04:05 MST") + " " + msg)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Time.Format("15:04:05"), orDash(e.Stage), e.Kind+" "+e.Status, msg)
	}
	tw.Flush()
	if r.Status == journal.StatusRunning {
		for _, line := range stillRunning(view, time.Now()) {
			fmt.Fprintln(c.stdout, line)
		}
	}
	for _, w := range waiting {
		fmt.Fprintf(c.stdout, "stage %s is waiting for approval%s\n  approve: %s\n  abort:   %s\n", w.Stage, questionSuffix(w.Message), w.Approve, w.Abort)
	}
	return exitOK
}

// stillRunning says, for each stage whose last entry starts an attempt or
// its undo, what runs and until when: "stage canary: attempt 2 running,
// until 12:05:03 UTC (4m12s left)".
func stillRunning(view []entryView, now time.Time) []string {
	last := map[string]entryView{}
	var order []string
	for _, e := range view {
		if e.Stage == "" || (e.Kind != journal.KindStage && e.Kind != journal.KindUndo) {
			continue
		}
		if _, ok := last[e.Stage]; !ok {
			order = append(order, e.Stage)
		}
		last[e.Stage] = e
	}
	var out []string
	for _, st := range order {
		e := last[st]
		if e.Status != "started" {
			continue
		}
		what := fmt.Sprintf("attempt %d", max(e.Attempt, 1))
		if e.Kind == journal.KindUndo {
			what = "undo"
		}
		line := fmt.Sprintf("stage %s: %s running", st, what)
		switch left := e.Deadline.Sub(now).Round(time.Second); {
		case e.Deadline.IsZero():
			line += ", with no time limit"
		case left >= 0:
			line += fmt.Sprintf(", until %s (%s left)", e.Deadline.UTC().Format("15:04:05 MST"), left)
		default:
			line += fmt.Sprintf(", until %s (passed %s ago)", e.Deadline.UTC().Format("15:04:05 MST"), -left)
		}
		out = append(out, line)
	}
	return out
}

func (c *cli) listRuns(o *options) ([]runView, int) {
	clients, err := c.cluster(o).Clients()
	if err != nil {
		c.errorf("%v", err)
		return nil, exitOf(err)
	}
	// An unreachable cluster is said at once, not after the journal's
	// retries for passing blips have run out.
	if err := clients.Reachable(context.Background()); err != nil {
		c.errorf("%v", err)
		return nil, exitFailed
	}
	ns := kube.NamespaceOf(clients, o.namespace)
	metas, err := runStore(clients, ns, o).List(context.Background())
	if err != nil {
		c.errorf("listing runs in %s: %v", ns, err)
		return nil, exitFailed
	}
	// A namespace that does not exist lists no runs: said as such (exit
	// 2), not as "no runs" after a mistyped -n.
	if len(metas) == 0 {
		if err := clients.CheckNamespace(context.Background(), ns); err != nil {
			c.errorf("%v", err)
			return nil, exitOf(err)
		}
	}
	locker := lock.NewLeaseLocker(clients, ns)
	runs := make([]runView, len(metas))
	for i, m := range metas {
		runs[i] = viewOf(m, ns, locker)
	}
	return runs, exitOK
}

// viewOf is a run as status shows it, its journal found in namespace ns
// (where its lock is too).
func viewOf(m journal.Meta, ns string, locker *lock.LeaseLocker) runView {
	r := runView{RunID: m.RunID, Pipeline: m.Pipeline, Namespace: m.Namespace, Status: m.Status,
		State: m.Status, Started: m.Started, By: m.Holder, Lock: m.Lock, Target: m.Target, Undone: undone(m.Status)}
	if r.Namespace == "" {
		r.Namespace = ns
	}
	if m.Status == journal.StatusRunning {
		r.State, r.Detail = liveness(locker, m, time.Now())
	}
	return r
}

// liveness judges a "running" journal by its lock. One look cannot tell a
// live holder from one killed a moment ago (that takes watching the lease
// for a duration, as undo and --resume do): a lock its run holds is
// "running?", with when it was last renewed (on the holder's clock); one
// not renewed for three lease durations is "abandoned?"; a lock released
// or held by another run means the run is gone: "abandoned".
// notStarted is the state of a target's share whose run is alive
// (running?) and that has started none of its stages: its wave, or its
// turn in it, has not come.
const notStarted = "not started"

// judgeStart tells a share that has started nothing from one running its
// stages, by its journal: a share journals its first start at once
// (engine's startEntry), where a one-cluster run's start may wait for its
// next write. A live one is "not started"; one whose process is gone
// stays abandoned, and says it had started nothing (--resume starts it).
func (r *runView) judgeStart(view []entryView) {
	if r.Status != journal.StatusRunning || r.Target == "" {
		return
	}
	for _, e := range view {
		if e.Kind == journal.KindStage || e.Kind == journal.KindUndo {
			return
		}
	}
	if r.State == "running?" {
		r.State = notStarted
	}
	r.Detail = strings.TrimSuffix("none of its stages has started (its wave, or its turn in the wave, has not come); "+r.Detail, "; ")
}

// judgeStarts judges each running share of a list by its journal
// (judgeStart): one read per such run, which the list alone lacks.
func (c *cli) judgeStarts(runs []runView, o *options) {
	for i := range runs {
		if r := &runs[i]; r.Status == journal.StatusRunning && r.Target != "" {
			if entries, ok := c.entriesOf(r, o); ok {
				r.judgeStart(viewEntries(entries))
			}
		}
	}
}

// entriesOf reads listed run r's journal; not ok when it cannot be read
// (the list shows the run as its meta has it).
func (c *cli) entriesOf(r *runView, o *options) ([]journal.Entry, bool) {
	clients, err := c.cluster(o).Clients()
	if err != nil {
		return nil, false
	}
	j, err := runStore(clients, r.Namespace, o).Open(context.Background(), r.RunID)
	if err != nil {
		return nil, false
	}
	entries, err := j.Entries(context.Background())
	return entries, err == nil
}

// judgeUndos reads the journal of each listed run whose status an undo
// may have given (judgeUndo): one read per such run.
func (c *cli) judgeUndos(runs []runView, o *options) {
	for i := range runs {
		if r := &runs[i]; undoResults[r.Status] {
			if entries, ok := c.entriesOf(r, o); ok {
				r.judgeUndo(entries)
			}
		}
	}
}

func liveness(l *lock.LeaseLocker, m journal.Meta, now time.Time) (state, detail string) {
	state, detail, _ = judgeLock(l, m, now)
	return state, detail
}

// judgeLock is liveness, and lapsed says that the holder has not renewed
// for longer than its lease: it may have died or be cut off (the detail
// says for how long), and is judged dead after three leases.
func judgeLock(l *lock.LeaseLocker, m journal.Meta, now time.Time) (state, detail string, lapsed bool) {
	if m.Lock == "" {
		return "running?", "it takes no lock (lock = false): nothing shows whether its process is alive", false
	}
	s, err := l.Look(context.Background(), m.Lock)
	switch {
	case err != nil:
		return "running?", fmt.Sprintf("its lock %q cannot be read: %v", m.Lock, err), false
	case !s.Found:
		return "abandoned", "its lock is released", false
	case s.Holder.RunID != m.RunID:
		return "abandoned", "its lock is held by " + s.Holder.String(), false
	case s.Renewed.IsZero():
		return "running?", "lock held by " + s.Holder.String(), false
	}
	ago := now.Sub(s.Renewed).Round(time.Second)
	if ago < 0 {
		ago = 0 // the holder's clock is ahead of ours
	}
	if s.Duration > 0 && ago > 3*s.Duration {
		return "abandoned?", fmt.Sprintf("lock held by %s, not renewed since %s", s.Holder, s.Renewed.Format(time.RFC3339)), false
	}
	if s.Duration > 0 && ago > s.Duration {
		return "running?", fmt.Sprintf("lock held by %s, not renewed for %s (its lease is %s; it is judged dead after %s)", s.Holder, ago, s.Duration, 3*s.Duration), true
	}
	return "running?", fmt.Sprintf("lock held by %s, last renewed %s ago", s.Holder, ago), false
}

// printRuns shows runs listed with options o, judged by their journals.
func (c *cli) printRuns(runs []runView, o *options) {
	c.judgeRuns(runs, o)
	c.writeRuns(runs, o)
}

// judgeRuns judges listed runs by their journals, read with options o
// (judgeStarts, judgeUndos).
func (c *cli) judgeRuns(runs []runView, o *options) {
	c.judgeStarts(runs, o)
	c.judgeUndos(runs, o)
}

// writeRuns writes runs as a table, or with -o json one document.
func (c *cli) writeRuns(runs []runView, o *options) {
	if o.output == "json" {
		if runs == nil {
			runs = []runView{}
		}
		_ = json.NewEncoder(c.stdout).Encode(struct {
			Runs []runView `json:"runs"`
		}{runs})
		return
	}
	if len(runs) == 0 {
		fmt.Fprintln(c.stdout, "no runs")
		return
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tPIPELINE\tSTATUS\tSTARTED\tBY")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.RunID, r.Pipeline, r.shown(), r.Started.Format(time.RFC3339), r.By)
	}
	tw.Flush()
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
