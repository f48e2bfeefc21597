package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/sethvargo/go-retry"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/lock"
	"github.com/cutoverhq/cutover/steps"
)

// Options are what a run needs beyond the program.
type Options struct {
	RunID   string
	Cluster *kube.Cluster // nil: no cluster configured
	DryRun  bool
	// ShowManifests: Plan renders what stages that apply objects would
	// apply (plan --show-manifests).
	ShowManifests bool
	Sink          events.Sink // receives redacted events
	Journal       journal.Journal
	// Lock is the pipeline's lock, already held by the caller (taken before
	// the journal is created, so a refused run leaves no journal behind).
	// When it is lost the run stops writing at once: no new stage, no undo.
	Lock lock.Lock
	// Grace bounds the undo after the run's context was cancelled (a signal).
	Grace time.Duration
	// Force lets undo restore objects someone changed since the run wrote
	// them (steps.Env.Force).
	Force bool
	// Resume holds the journal of an earlier attempt of this run: stages it
	// finished are not run again, their outputs and undo records are reused.
	Resume []journal.Entry
	// Target names the target (a target block) this run is the share of:
	// its stages see it as `target`, and events name them by address,
	// deploy["eu-1"]. Namespace, when set, is the target's namespace.
	Target    string
	Namespace string
}

// EarlierAttempt is the message of a stage a resumed run found finished.
const EarlierAttempt = "in an earlier attempt of this run"

// StageRun is the record of one stage in a run.
type StageRun struct {
	Name     string
	Status   events.Status // the vocabulary every renderer shows
	Attempts int
	Started  time.Time
	Duration time.Duration
	Output   cty.Value
	Err      error
	records  []json.RawMessage
	finished int // completion sequence, for undo order
	// resumedUntil is, in a resumed run, the deadline the journal gave the
	// attempt the process died in (zero: none): a step's own wait (a
	// pause's timeout) keeps it rather than starting again (Env.Until).
	resumedUntil time.Time
	// unrehearsed: a dry run's stage skipped as not rehearsed
	// (steps.NotRehearsed).
	unrehearsed bool
}

// Outcome is the result of a run.
type Outcome struct {
	Result      events.Result
	Stages      map[string]*StageRun
	Outputs     map[string]cty.Value
	UndoPending []string // stages whose undo failed: left for a person
	Err         error    // the first stage failure, or why the run stopped
	// Tolerated names the targets of a fleet that failed within their
	// wave's max_failures (and were undone), each with why.
	Tolerated []string
	// Note says what the result leaves out: a share's outputs that read
	// other targets' stages (RunFinished.Message).
	Note string
}

// ExitCode maps an outcome to the exit codes of docs/design.md (signals excepted:
// the command knows which one it got).
func (o *Outcome) ExitCode() int {
	switch o.Result {
	case events.Succeeded, events.Undone:
		return 0
	case events.UndoIncomplete, events.LockLost:
		return 3
	default:
		return 1
	}
}

type runner struct {
	p     *Program
	opts  Options
	sink  events.Sink
	red   events.Redactor
	start time.Time

	mu     sync.Mutex
	stages map[string]*StageRun

	lost error // set once the lock is lost: nothing more is written
	// undoing: the undo has begun (under mu), so a lost lock stops it
	// part-way rather than before anything was undone.
	undoing bool

	// target is the `target` object of a target's share (cty.NilVal: no
	// targets); quiet: the share runs in a fleet, which emits RunStarted
	// and RunFinished itself.
	target cty.Value
	quiet  bool
	// undoCommand is the command a message suggests to undo this run
	// (undoCommand); a fleet's share suggests the whole release's.
	undoCommand string

	jmu   sync.Mutex      // orders journal appends
	noted []journal.Entry // queued for the next append
	// notedMatters: noted holds an outcome a resume or an undo needs (see
	// startEntry), so the next stage start makes it durable at once.
	notedMatters bool
	// startJournaled: a stage start was journaled (under jmu; see
	// startEntry).
	startJournaled bool
	seq            int
	failed         error
	drain          drainState // under mu
	// rh is, in a dry run, what each stage's dry runs leave for the
	// stages after it (nil otherwise).
	rh *rehearsal
}

// Run executes the program. ctx cancellation (a signal) stops scheduling,
// cancels what is in flight and undoes within opts.Grace.
func (p *Program) Run(ctx context.Context, opts Options) (*Outcome, error) {
	if err := checkResumed(opts.Resume); err != nil {
		return nil, err
	}
	r := p.newRunner(opts)
	r.emit(events.Event{Type: events.RunStarted, Message: resumeMessage(opts.Resume), Stages: r.eventStages()})
	ctx, stop := r.watchLock(ctx)
	defer stop()
	r.restore(opts.Resume)
	out := r.execute(ctx)
	if out.Err != nil && out.Result == "" {
		r.conclude(ctx, out)
	}
	r.finish(out)
	return out, nil
}

// watchLock cancels ctx when the run's lock is lost.
func (r *runner) watchLock(ctx context.Context) (context.Context, func()) {
	if r.opts.Lock == nil {
		return ctx, func() {}
	}
	ctx, stop := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-r.opts.Lock.Lost():
			r.loseLock(r.opts.Lock.Err())
			stop(r.lockLost())
		case <-ctx.Done():
		}
	}()
	return ctx, func() { stop(nil) }
}

// execute walks the stages. The outcome has a Result when the run
// succeeded or lost its lock; otherwise Err says why it failed and what to
// undo is left to conclude (or, for a target of a fleet, to the fleet).
func (r *runner) execute(ctx context.Context) *Outcome {
	p := r.p
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if p.Timeout > 0 {
		var c context.CancelFunc
		runCtx, c = context.WithTimeoutCause(runCtx, p.Timeout, fmt.Errorf("the pipeline timeout of %s was reached", p.Timeout))
		defer c()
	}
	notStarted := p.Graph.Walk(runCtx, p.Parallelism, func(ctx context.Context, name string) {
		if err := r.runStage(ctx, name); err != nil {
			r.mu.Lock()
			if r.failed == nil {
				r.failed = err
			}
			r.mu.Unlock()
			cancel(err)
		}
	})
	for _, name := range notStarted {
		// Every stage ends with an event, so a report never shows one
		// still pending after the run.
		r.transition(r.stages[name], toNotRun, events.Event{Message: r.whyNotRun(name, runCtx)}, journal.Entry{}, false)
	}

	out := &Outcome{Stages: r.stages}
	switch {
	case r.lockLost() != nil:
		// Someone else may hold the lock now, undoing or releasing: writing
		// anything more (an undo above all) could undo their work.
		out.Err = r.lockLost()
		out.Result = events.LockLost
		return out
	case r.failed != nil:
		out.Err = r.failed
	case ctx.Err() != nil:
		out.Err = context.Cause(ctx)
	case runCtx.Err() != nil:
		out.Err = context.Cause(runCtx)
	}
	if out.Err == nil {
		out.Result = events.Succeeded
		out.Outputs, out.Note = r.outputs()
		if n := r.unrehearsed(); n != "" {
			out.Note = strings.TrimPrefix(out.Note+"; "+n, "; ")
		}
	}
	return out
}

// unrehearsed is what a dry run that succeeded leaves for the real run:
// the stages it skipped as not rehearsed, in graph order ("" for none), so
// its result is not read as their checks passing.
func (r *runner) unrehearsed() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for _, n := range r.p.Order {
		if r.stages[n].unrehearsed {
			names = append(names, r.address(n))
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "not rehearsed, left for the real run: " + strings.Join(names, ", ")
}

// conclude ends a failed run: stopped as on_failure says, or undone
// (within opts.Grace when ctx was cancelled by a signal).
func (r *runner) conclude(ctx context.Context, out *Outcome) {
	interrupted := ctx.Err() != nil
	if r.p.OnFailure == "stop" && !interrupted {
		out.Result = events.FailedStopped
		return
	}
	undoCtx, stop := undoContext(ctx, r.opts.Grace)
	defer stop()
	out.UndoPending = r.undoAll(undoCtx)
	if lost := r.lockLost(); lost != nil {
		out.Result, out.Err = events.LockLost, fmt.Errorf("%v; %w", out.Err, lost)
		return
	}
	out.Result = events.FailedUndone
	if len(out.UndoPending) > 0 {
		out.Result = events.UndoIncomplete
	}
	if interrupted && len(out.UndoPending) == 0 {
		out.Result = events.Interrupted
	}
}

// undoContext is what an undo runs in: not cancelled with ctx (the undo
// outlives the signal that asked for it), but bounded by grace from the
// moment ctx is cancelled — at once when it already is, or when a signal
// arrives while a failed run is being undone (an undo waiting on a rollout
// that cannot finish must still end within --grace). grace 0: unbounded.
func undoContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	undoCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	if grace > 0 {
		go func() {
			select {
			case <-ctx.Done():
			case <-undoCtx.Done():
				return
			}
			select {
			case <-time.After(grace):
				cancel(fmt.Errorf("the %s of --grace passed after the signal", grace))
			case <-undoCtx.Done():
			}
		}()
	}
	return undoCtx, func() { cancel(nil) }
}

// whyNotRun says why a stage never started: the first dependency that did
// not succeed, else why the run stopped.
func (r *runner) whyNotRun(name string, runCtx context.Context) string {
	for _, d := range r.p.Stages[name].Deps {
		switch r.stages[d].Status {
		case events.StatusFailed:
			return "dependency " + r.address(d) + " failed"
		case events.StatusCancelled:
			return "dependency " + r.address(d) + " was cancelled"
		case events.StatusNotRun:
			return "dependency " + r.address(d) + " did not run"
		}
	}
	if cause := context.Cause(runCtx); cause != nil {
		return "not run: " + cause.Error()
	}
	return "not run"
}

// loseLock records that the lock is gone; from then on the runner writes
// nothing (journal appends fail, so steps stop before their next write).
func (r *runner) loseLock(cause error) {
	if cause == nil {
		cause = errors.New("renewal failed")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.lost != nil:
	case r.undoing:
		// The undo stopped where it was: what is left is named in the
		// run's undo_pending, and the same command finishes it.
		r.lost = fmt.Errorf("lock lost: %v; the undo stopped, what it had not undone is left: run `%s` when it is safe", cause, r.undoCommand)
	default:
		r.lost = fmt.Errorf("lock lost: %v; nothing undone: run `%s` when it is safe", cause, r.undoCommand)
	}
}

func (r *runner) lockLost() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lost
}

func (p *Program) newRunner(opts Options) *runner {
	red := p.Redactor()
	sink := opts.Sink
	if sink == nil {
		sink = events.SinkFunc(func(events.Event) {})
	}
	r := &runner{p: p, opts: opts, sink: events.Redact(p.Secrets(), events.Ended(sink)), red: red, start: time.Now(), stages: map[string]*StageRun{}}
	for _, n := range p.stageOrder {
		r.stages[n] = &StageRun{Name: n, Status: events.StatusPending}
	}
	if t, ok := p.TargetNamed(opts.Target); ok {
		r.target = t.value(r.namespace())
	}
	r.undoCommand = p.undoCommand(opts.RunID, r.namespace(), opts.Target)
	if opts.DryRun {
		r.rh = p.newRehearsal()
	}
	return r
}

// eventStages are the stages as RunStarted lists them; for a target's
// share, by their addresses of that target.
func (r *runner) eventStages() []events.Stage {
	var out []events.Stage
	for _, n := range r.p.Order {
		s := r.p.Stages[n]
		es := events.Stage{Name: r.address(n), File: s.DeclRange.Filename, Line: s.DeclRange.Start.Line}
		for _, d := range s.Deps {
			es.DependsOn = append(es.DependsOn, r.address(d))
		}
		if s.Kind != nil {
			es.Kind = s.Kind.Name()
		}
		out = append(out, es)
	}
	return out
}

// address is how events name a stage of this run: NAME["TARGET"] in a
// target's share (the journal, which the target's cluster keeps alone,
// names it as a run without targets does).
func (r *runner) address(stage string) string {
	if r.opts.Target == "" {
		return stage
	}
	return Address(stage, r.opts.Target)
}

func (r *runner) emit(e events.Event) {
	e.Time = time.Now()
	e.RunID = r.opts.RunID
	e.Pipeline = r.p.Name
	if s, ok := r.p.Stages[e.Stage]; ok {
		e.File, e.Line = s.DeclRange.Filename, s.DeclRange.Start.Line
		if s.Kind != nil {
			e.Kind = s.Kind.Name()
		}
	}
	if e.Elapsed == 0 && e.Stage == "" {
		e.Elapsed = time.Since(r.start)
	}
	if e.Stage != "" {
		e.Stage = r.address(e.Stage)
	}
	if e.Type == events.RunStarted || e.Type == events.RunFinished {
		if r.quiet {
			return // a fleet's target: the fleet says when the run starts and ends
		}
		e.DryRun = r.opts.DryRun
	}
	r.sink.Emit(e)
}

func (r *runner) runStage(ctx context.Context, name string) error {
	st := r.p.Stages[name]
	sr := r.stages[name]
	if sr.Status == events.StatusSucceeded || sr.Status == events.StatusSkipped {
		// Finished by an earlier attempt of this run: said once, in graph
		// order, so every report of the resumed run lists it as done.
		e := events.Event{Type: toSucceeded.event, Stage: name, Attempt: sr.Attempts, Output: plainJSON(sr.Output), Message: EarlierAttempt}
		if sr.Status == events.StatusSkipped {
			e = events.Event{Type: toSkipped.event, Stage: name, Message: EarlierAttempt}
		}
		r.emit(e)
		return nil
	}
	sr.Started = time.Now()
	evalCtx := st.Context(r.evalContext(r.doneStates(st.Deps)))
	if st.When != nil {
		v, diags := st.When.Value(evalCtx)
		if diags.HasErrors() {
			return r.fail(ctx, sr, fmt.Errorf("evaluating when: %s", diags.Error()))
		}
		v, _ = v.UnmarkDeep()
		if b, err := convert.Convert(v, cty.Bool); err != nil || b.IsNull() || !b.IsKnown() {
			return r.fail(ctx, sr, fmt.Errorf("when must be true or false"))
		} else if b.False() {
			r.mu.Lock()
			sr.Output = cty.NullVal(st.Kind.Output())
			r.mu.Unlock()
			r.transition(sr, toSkipped, events.Event{Message: "when is false"}, journal.Entry{}, false)
			return nil
		}
	}
	cfg, diags := hcldec.Decode(st.Step.Body, st.Step.Spec, evalCtx)
	if diags.HasErrors() {
		return r.fail(ctx, sr, errors.New(diagText(diags)))
	}
	cfg, _ = cfg.UnmarkDeep()
	env := r.env(name, evalCtx, st.Step.Body, sr)
	if r.rh != nil {
		env.Planned = r.rh.before(name)
	}

	var lastErr error
	var notRehearsed *steps.NotRehearsedError
	policy := st.Retry.backoff()
	b := retry.BackoffFunc(func() (time.Duration, bool) {
		if ctx.Err() != nil {
			// The run is stopping (a sibling failed, a signal): the
			// stage is cancelled, not retrying.
			return 0, true
		}
		d, stop := policy.Next()
		if !stop {
			r.emit(events.Event{Type: events.StageRetrying, Stage: name, Attempt: sr.Attempts, Error: lastErr.Error(), Delay: d, Elapsed: time.Since(sr.Started)})
		}
		return d, stop
	})
	var out cty.Value
	err := retry.Do(ctx, b, func(ctx context.Context) error {
		sr.Attempts++
		env.Attempt = sr.Attempts
		env.Deadline = deadline(ctx, attemptBound(st, cfg))
		env.Until, sr.resumedUntil = resumedWait(st, cfg, sr.resumedUntil), time.Time{}
		if !env.Until.IsZero() && (env.Deadline.IsZero() || env.Until.Before(env.Deadline)) {
			env.Deadline = env.Until
		}
		stopFlush, err := r.startAttempt(ctx, sr, env.Deadline)
		defer stopFlush()
		if err != nil {
			return err
		}
		// A write waits until the data plane followed the last traffic
		// move: the engine cannot tell before it runs whether a step takes
		// away what clients still reach (a scale-down, a delete), so every
		// step that writes does; gates and waits do not.
		if _, ro := st.Kind.(steps.ReadOnly); !ro {
			if err := r.awaitDrain(ctx, name, env.Report); err != nil {
				return err
			}
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if st.Timeout > 0 {
			actx, cancel = context.WithTimeoutCause(ctx, st.Timeout, fmt.Errorf("attempt timed out after %s", st.Timeout))
		}
		defer cancel()
		v, err := st.Kind.Run(actx, env, cfg)
		if err == nil {
			out = v
			return nil
		}
		if nr, ok := steps.AsNotRehearsed(err); ok && r.opts.DryRun {
			notRehearsed, out = nr, nr.Output
			return nil
		}
		if ctx.Err() == nil && actx.Err() != nil {
			// The attempt's own timeout: another attempt may fare better,
			// unless the step says it would wait for the same thing again
			// (a rollout) and the retry block does not insist.
			switch {
			case !steps.IsStuck(err) || st.Retry.Timeouts:
				err = steps.Retryable(fmt.Errorf("%w (%v)", context.Cause(actx), err))
			case st.Retry.Attempts > 1:
				err = fmt.Errorf("%w (%v); not retried: another attempt would wait for the same rollout (retry { timeouts = true } retries it, a longer timeout waits longer)", context.Cause(actx), err)
			default:
				err = fmt.Errorf("%w (%v)", context.Cause(actx), err)
			}
		}
		lastErr = err
		if steps.IsRetryable(err) && ctx.Err() == nil {
			return retry.RetryableError(err)
		}
		return err
	})
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) && lastErr == nil {
			lastErr = err
		}
		if ctx.Err() != nil {
			r.transition(sr, toCancelled, events.Event{Message: fmt.Sprint(context.Cause(ctx))}, journal.Entry{}, false)
			return nil
		}
		return r.fail(ctx, sr, err)
	}
	if _, ok := st.Kind.(steps.Planner); ok && r.rh != nil {
		r.rh.done(st, env.Planned, notRehearsed == nil)
	}
	if notRehearsed != nil {
		return r.notRehearsed(sr, notRehearsed)
	}
	return r.succeed(ctx, sr, out)
}

// notRehearsed ends a dry run's stage whose work its kind could not
// rehearse (steps.NotRehearsed): skipped, saying why, with the output the
// stages after it read. Neither failed (what it checks does not exist
// before the writes are real) nor succeeded (it checked nothing).
func (r *runner) notRehearsed(sr *StageRun, nr *steps.NotRehearsedError) error {
	out := nr.Output
	if out.Type() == cty.NilType {
		out = cty.NullVal(r.p.Stages[sr.Name].Kind.Output())
	}
	r.mu.Lock()
	sr.Output, sr.unrehearsed = out, true
	r.mu.Unlock()
	r.transition(sr, toSkipped, events.Event{Message: nr.Error(), Output: plainJSON(out)}, journal.Entry{}, false)
	return nil
}

func (r *runner) succeed(ctx context.Context, sr *StageRun, out cty.Value) error {
	data, err := ctyjson.Marshal(out, cty.DynamicPseudoType)
	if err != nil {
		return r.fail(ctx, sr, fmt.Errorf("step output cannot be recorded: %w", err))
	}
	data = r.storedOutput(data)
	r.mu.Lock()
	sr.Output = out
	r.mu.Unlock()
	r.transition(sr, toSucceeded, events.Event{Output: plainJSON(out)}, journal.Entry{Data: data}, r.outcomeMatters(sr))
	return nil
}

func (r *runner) fail(ctx context.Context, sr *StageRun, err error) error {
	r.mu.Lock()
	sr.Err = err
	r.mu.Unlock()
	r.transition(sr, toFailed, events.Event{Error: err.Error()}, journal.Entry{}, false)
	return fmt.Errorf("stage %s: %w", sr.Name, err)
}

func (r *runner) env(name string, ctx *hcl.EvalContext, body hcl.Body, sr *StageRun) *steps.Env {
	return &steps.Env{
		Pipeline: r.p.Name, Stage: name, RunID: r.opts.RunID, Namespace: r.namespace(),
		Dir: r.p.Config.Dir, Target: r.opts.Target, DryRun: r.opts.DryRun, Cluster: r.opts.Cluster,
		Command: func(namespace, verb string, args ...string) string {
			return r.p.Command(verb, args, r.opts.Target, namespace)
		},
		Body: body, EvalContext: ctx,
		Progress: r.progress(sr),
		Moved:    r.moved(name),
		Note: func(rec any) {
			data, err := json.Marshal(rec)
			if err != nil {
				return
			}
			r.note(false, journal.Entry{Kind: journal.KindRecord, Stage: name, Attempt: sr.Attempts, Data: data})
			r.mu.Lock()
			sr.records = append(sr.records, data)
			r.mu.Unlock()
		},
		Force: r.opts.Force,
		Capture: func(rec any) error {
			data, err := json.Marshal(rec)
			if err != nil {
				return fmt.Errorf("undo record: %w", err)
			}
			if err := r.journal(context.Background(), journal.Entry{Kind: journal.KindRecord, Stage: name, Attempt: sr.Attempts, Data: data}); err != nil {
				return err
			}
			r.mu.Lock()
			sr.records = append(sr.records, data)
			r.mu.Unlock()
			return nil
		},
	}
}

// progress reports what stage sr is waiting for.
func (r *runner) progress(sr *StageRun) func(string) {
	return func(msg string) {
		var elapsed time.Duration
		if !sr.Started.IsZero() { // an undo from the journal: the stage did not start here
			elapsed = time.Since(sr.Started)
		}
		r.emit(events.Event{Type: events.StageProgress, Stage: sr.Name, Message: msg, Elapsed: elapsed})
	}
}

// doneStates returns the finished stages among names, for evaluation.
func (r *runner) doneStates(names []string) map[string]StageState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]StageState, len(names))
	for _, n := range names {
		if sr := r.stages[n]; sr.Status == events.StatusSucceeded || sr.Status == events.StatusSkipped {
			out[n] = StageState{Status: sr.Status, Output: sr.Output}
		}
	}
	return out
}

func (r *runner) allDone() map[string]StageState {
	return r.doneStates(r.p.stageOrder)
}

// outputs evaluates the pipeline's output blocks after a successful run.
// One target's share knows only its own target's stages: an output that
// reads another target's is left out, and the note says so once (join,
// or the run of every target, evaluates it).
func (r *runner) outputs() (map[string]cty.Value, string) {
	if r.opts.Target == "" {
		return r.p.outputsIn(r.evalContext(r.allDone()), nil), ""
	}
	var left []string
	out := r.p.outputsIn(r.p.targetsContext(map[string]*runner{r.opts.Target: r}), &left)
	if len(left) == 0 {
		return out, ""
	}
	return out, fmt.Sprintf("%s %s left out of target %s's share: %s other targets' stages, which only the run of every target (or join) can evaluate",
		words.Noun(len(left), "output"), strings.Join(left, ", "), r.opts.Target, map[bool]string{true: "it reads", false: "they read"}[len(left) == 1])
}

// outputsIn evaluates the output blocks in ctx. With left, an output that
// cannot be evaluated is named there and left out; without, its value is
// the error.
func (p *Program) outputsIn(ctx *hcl.EvalContext, left *[]string) map[string]cty.Value {
	out := map[string]cty.Value{}
	for _, name := range p.Config.OutputOrder {
		o := p.Config.Outputs[name]
		v, diags := o.Value.Value(ctx)
		if diags.HasErrors() && left != nil {
			*left = append(*left, name)
			continue
		}
		if diags.HasErrors() {
			out[name] = cty.StringVal("error: " + diagText(diags))
			continue
		}
		if o.Sensitive || v.ContainsMarked() {
			v = cty.StringVal(events.Mask)
		}
		out[name] = v
	}
	return out
}

func (r *runner) finish(out *Outcome) {
	var outputs json.RawMessage
	if len(out.Outputs) > 0 {
		outputs = plainJSON(cty.ObjectVal(out.Outputs))
	}
	msg := ""
	if out.Err != nil {
		msg = out.Err.Error()
	}
	if r.opts.Journal != nil {
		// The result and whatever news is queued go with the status: one
		// request ends the run's journal.
		r.jmu.Lock()
		batch := append(r.noted, journal.Entry{Kind: journal.KindResult, Status: string(out.Result), Message: r.red.String(msg), Time: time.Now()})
		if err := r.opts.Journal.SetStatus(context.Background(), string(out.Result), batch...); err == nil {
			r.noted, r.notedMatters = nil, false
		}
		r.jmu.Unlock()
	}
	r.emit(events.Event{Type: events.RunFinished, Result: out.Result, Outputs: outputs, Error: msg, Message: out.Note, UndoPending: out.UndoPending})
}

// maxStoredOutput bounds a stage output kept in the journal: a command that
// prints megabytes must not fill the run state (a Secret holds 1 MiB) and
// block every later write. Events still carry the whole output.
const maxStoredOutput = 64 << 10

// storedOutput is a stage output as the journal keeps it: secrets masked
// (an exec that echoes a token, whatever form it prints it in), and a
// marker in place of an output too large to keep. A resumed run sees the
// marker where a later stage reads that output.
func (r *runner) storedOutput(data []byte) []byte {
	data = r.red.JSON(data)
	if len(data) <= maxStoredOutput {
		return data
	}
	marker := fmt.Sprintf("cutover: output of %d bytes not journaled (limit %d)", len(data), maxStoredOutput)
	b, _ := ctyjson.Marshal(cty.StringVal(marker), cty.DynamicPseudoType)
	return b
}

// plainJSON renders a value as ordinary JSON (no type information).
func plainJSON(v cty.Value) json.RawMessage {
	if v == cty.NilVal {
		return nil
	}
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		return nil
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil
	}
	return b
}

func diagText(diags hcl.Diagnostics) string {
	var s string
	for i, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if i > 0 && s != "" {
			s += "; "
		}
		if d.Subject != nil {
			s += d.Subject.String() + ": "
		}
		s += d.Summary
		if d.Detail != "" {
			s += ": " + d.Detail
		}
	}
	return s
}
