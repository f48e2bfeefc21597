package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/journal"
)

// FleetOptions are what a run of a pipeline with targets needs: one share
// (an ordinary run's Options: cluster, journal, lock, namespace, resume)
// per target, all under one run id.
type FleetOptions struct {
	RunID string
	Sink  events.Sink
	Grace time.Duration
	// Shares are the targets' runs by target name; Options.Target is set
	// by the fleet.
	Shares map[string]Options
	// Unreachable are the targets that failed before they ran (their
	// cluster could not be reached, their journal not started): each
	// counts against its wave's max_failures.
	Unreachable map[string]error
	// NothingToUndo are the targets an undo leaves alone, each with why
	// ("no journal for run R", "undone already …"): named on their
	// wave's line.
	NothingToUndo map[string]string
}

// fleet runs the shares of a pipeline with targets wave by wave: a wave
// starts when every earlier one succeeded; up to max_failures targets of
// a wave may fail (each is undone at once) before the run fails; a failed
// run undoes its waves in reverse order, target by target, each target's
// stages newest first (docs/design.md, "Targets and waves").
type fleet struct {
	p      *Program
	fo     FleetOptions
	sink   events.Sink
	dryRun bool // its shares' runs are --dry-run=server
	start  time.Time
	shares map[string]*runner // the shares still in the release
	all    map[string]*runner
	// ran lists the targets that executed, in the order they finished.
	ran []string
	// tolerated names the targets that failed within max_failures.
	tolerated []string
	// undoCommand undoes the whole release on every target.
	undoCommand string
}

func (p *Program) newFleet(fo FleetOptions) *fleet {
	// One Ended for the fleet's events and its shares': the undo the
	// fleet's end tells of is any share's.
	sink := events.Ended(orNop(fo.Sink))
	f := &fleet{p: p, fo: fo, sink: events.Redact(p.Secrets(), sink), start: time.Now(), shares: map[string]*runner{}, all: map[string]*runner{}}
	for _, t := range p.TargetNames() {
		opts, ok := fo.Shares[t]
		if !ok {
			continue
		}
		f.dryRun = f.dryRun || opts.DryRun
		opts.Target, opts.RunID, opts.Sink, opts.Grace = t, fo.RunID, sink, fo.Grace
		r := p.newRunner(opts)
		r.quiet = true
		f.shares[t] = r
		f.all[t] = r
	}
	// A share of this release suggests undoing all of it: a lost lock
	// stops every target, and each is left as it was.
	f.undoCommand = p.undoCommand(fo.RunID, f.namespace(), "")
	for _, r := range f.all {
		r.undoCommand = f.undoCommand
	}
	return f
}

// namespace is the one namespace of the targets whose block names none
// (every such share resolved the same one, from -n, the pipeline or one
// kubeconfig context), which `undo -n` gives them again; "" when they
// differ: each share's came from its own context, where undo finds it
// again. A target whose block names its namespace takes it over -n.
func (f *fleet) namespace() string {
	ns := ""
	for name, r := range f.all {
		if t, ok := f.p.TargetNamed(name); ok && t.Namespace != "" {
			continue
		}
		switch n := r.namespace(); {
		case ns == "":
			ns = n
		case n != ns:
			return ""
		}
	}
	return ns
}

func orNop(s events.Sink) events.Sink {
	if s == nil {
		return events.SinkFunc(func(events.Event) {})
	}
	return s
}

func (f *fleet) emit(e events.Event) {
	e.Time, e.RunID, e.Pipeline = time.Now(), f.fo.RunID, f.p.Name
	if e.Type == events.RunStarted || e.Type == events.RunFinished {
		e.DryRun = f.dryRun
	}
	if e.Elapsed == 0 {
		e.Elapsed = time.Since(f.start)
	}
	f.sink.Emit(e)
}

// RunFleet runs a pipeline with targets; the outcome's Stages are by
// address (deploy["eu-1"]).
func (p *Program) RunFleet(ctx context.Context, fo FleetOptions) (*Outcome, error) {
	f := p.newFleet(fo)
	var stages []events.Stage
	msg := ""
	for _, t := range p.TargetNames() {
		if r, ok := f.shares[t]; ok {
			if err := checkResumed(r.opts.Resume); err != nil {
				return nil, fmt.Errorf("target %s: %w", t, err)
			}
			if m := resumeMessage(r.opts.Resume); m != "" {
				msg = m
			}
			stages = append(stages, r.eventStages()...)
		}
	}
	f.emit(events.Event{Type: events.RunStarted, Message: msg, Stages: stages})
	for _, r := range f.shares {
		r.restore(r.opts.Resume)
	}
	out := &Outcome{Stages: map[string]*StageRun{}}
	failedWave := -1
	lost := false
	for wi, w := range p.Waves {
		f.emit(events.Event{Type: events.WaveStarted, Wave: w.Name, Targets: w.Targets})
		failures, lostOn := f.runWave(ctx, w)
		lockLost := len(lostOn) > 0
		for _, t := range lostOn {
			failures = append(failures, t+": lock lost")
		}
		f.waveFinished(ctx, w, failures, lockLost || len(failures) > w.MaxFailures || ctx.Err() != nil)
		if lockLost {
			lost = true
			out.Err = errors.New("lock lost on target " + strings.Join(lostOn, ", ") + ": the release stopped, nothing undone on any target; run `" + f.undoCommand + "` when it is safe")
			failedWave = wi
			break
		}
		if len(failures) > w.MaxFailures || ctx.Err() != nil {
			failedWave = wi
			out.Err = fmt.Errorf("wave %s: %s failed: %s", w.Name, words.Count(len(failures), "target"), strings.Join(failures, "; "))
			if ctx.Err() != nil {
				out.Err = context.Cause(ctx)
			}
			break
		}
		// Within max_failures: the failed targets are undone now, each on
		// its own, and the release goes on without them.
		for _, t := range w.Targets {
			r, ok := f.shares[t]
			if !ok || r.failed == nil {
				continue
			}
			o := &Outcome{Stages: r.stages, Err: r.failed}
			r.conclude(context.WithoutCancel(ctx), o)
			r.finish(o)
			delete(f.shares, t)
		}
		for _, fl := range failures {
			f.tolerated = append(f.tolerated, fl)
		}
	}
	switch {
	case failedWave < 0:
		out.Result = events.Succeeded
		for _, r := range f.shares {
			r.finish(&Outcome{Result: events.Succeeded, Stages: r.stages})
		}
		out.Outputs = p.outputsIn(p.targetsContext(f.shares), nil)
	case lost:
		out.Result = events.LockLost
		for _, r := range f.shares {
			o := &Outcome{Result: events.FailedStopped, Err: out.Err, Stages: r.stages}
			if r.lockLost() != nil {
				o.Result, o.Err = events.LockLost, r.lockLost()
			}
			r.finish(o)
		}
	default:
		f.notRun(failedWave, out.Err)
		out.Result, out.UndoPending = f.undoWaves(ctx, failedWave, out.Err)
	}
	f.collect(out)
	f.finish(out)
	return out, nil
}

// waveFinished says how wave w ended: failed (the release stops there),
// or succeeded, naming the targets that failed within max_failures.
func (f *fleet) waveFinished(ctx context.Context, w Wave, failures []string, failed bool) {
	e := events.Event{Type: events.WaveFinished, Wave: w.Name, Targets: w.Targets, Result: events.Succeeded}
	if failed {
		e.Result = events.FailedStopped
	}
	if len(failures) > 0 {
		e.Error = words.Count(len(failures), "target") + " failed: " + strings.Join(failures, "; ")
		if !failed {
			e.Error += fmt.Sprintf(" (within max_failures %d)", w.MaxFailures)
		}
	} else if failed && ctx.Err() != nil {
		e.Error = context.Cause(ctx).Error()
	}
	f.emit(e)
}

// runWave runs the wave's shares, at most Parallelism at once. It returns
// the failed targets, each with why; once more than max_failures failed,
// the others are cancelled.
func (f *fleet) runWave(ctx context.Context, w Wave) (failures, lockLost []string) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex
	fail := func(t string, err error) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, t+": "+f.p.Redactor().String(err.Error()))
		if len(failures) > w.MaxFailures {
			cancel(fmt.Errorf("wave %s: more than %d failed", w.Name, w.MaxFailures))
		}
	}
	sem := make(chan struct{}, w.Parallelism)
	var wg sync.WaitGroup
	for _, t := range w.Targets {
		if err, ok := f.fo.Unreachable[t]; ok {
			f.emit(events.Event{Type: events.StageProgress, Message: "target " + t + " failed before it ran: " + err.Error()})
			fail(t, err)
			continue
		}
		r, ok := f.shares[t]
		if !ok {
			continue
		}
		// Taken here, not in the goroutine: targets start in the wave's
		// order (the first ones listed are the first released).
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sctx, stop := r.watchLock(ctx)
			defer stop()
			o := r.execute(sctx)
			// The share's last news (its stages' ends) is only noted, to
			// ride on its next durable write, which for a share done with
			// its wave is the end of the whole release: written now, its
			// cluster's journal says what it did while later waves run
			// (status, a job that dies there). A write that fails leaves
			// the news noted; the release's end tries again.
			_ = r.journal(sctx)
			mu.Lock()
			f.ran = append(f.ran, t)
			if o.Result == events.LockLost {
				lockLost = append(lockLost, t)
			}
			mu.Unlock()
			if o.Err == nil || o.Result == events.LockLost {
				return
			}
			// A share stopped because others failed (or by a signal)
			// did not fail itself: it is undone with the wave, not
			// counted.
			stopped := r.failed == nil && ctx.Err() != nil
			if r.failed == nil {
				r.failed = o.Err
			}
			if !stopped {
				fail(t, o.Err)
			}
		}()
	}
	wg.Wait()
	return failures, lockLost
}

// notRun ends the shares of the waves after the failed one: none of their
// stages ran.
func (f *fleet) notRun(failedWave int, cause error) {
	for _, w := range f.p.Waves[failedWave+1:] {
		for _, t := range w.Targets {
			r, ok := f.shares[t]
			if !ok {
				continue
			}
			for _, n := range f.p.Order {
				if r.stages[n].Status == events.StatusPending {
					r.transition(r.stages[n], toNotRun, events.Event{Message: "not run: wave " + f.p.Waves[failedWave].Name + " failed"}, journal.Entry{}, false)
				}
			}
			r.finish(&Outcome{Result: events.FailedUndone, Err: cause, Stages: r.stages})
			delete(f.shares, t)
		}
	}
}

// undoWaves undoes waves failedWave … 0, target by target in reverse
// order of declaration, each target's stages as a run's undo orders them.
func (f *fleet) undoWaves(ctx context.Context, failedWave int, cause error) (events.Result, []string) {
	interrupted := ctx.Err() != nil
	if f.p.OnFailure == "stop" && !interrupted {
		for _, r := range f.shares {
			r.finish(&Outcome{Result: events.FailedStopped, Err: cause, Stages: r.stages})
		}
		return events.FailedStopped, nil
	}
	undoCtx, stop := undoContext(ctx, f.fo.Grace)
	defer stop()
	var pending []string
	for wi := failedWave; wi >= 0; wi-- {
		ts := f.p.Waves[wi].Targets
		for i := len(ts) - 1; i >= 0; i-- {
			r, ok := f.shares[ts[i]]
			if !ok {
				continue
			}
			o := &Outcome{Stages: r.stages, Err: cause}
			if r.failed != nil {
				o.Err = r.failed
			}
			o.UndoPending = r.undoAll(undoCtx)
			o.Result = shareResult(o.UndoPending, interrupted)
			r.finish(o)
			for _, u := range o.UndoPending {
				pending = append(pending, ts[i]+": "+u)
			}
		}
	}
	return shareResult(pending, interrupted), pending
}

func shareResult(pending []string, interrupted bool) events.Result {
	switch {
	case len(pending) > 0:
		return events.UndoIncomplete
	case interrupted:
		return events.Interrupted
	}
	return events.FailedUndone
}

// UndoFleet undoes a run of a pipeline with targets from the targets'
// journals (Options.Resume of each share): waves in reverse order, target
// by target.
func (p *Program) UndoFleet(ctx context.Context, fo FleetOptions) (*Outcome, error) {
	f := p.newFleet(fo)
	var stages []events.Stage
	for _, t := range p.TargetNames() {
		if r, ok := f.shares[t]; ok {
			stages = append(stages, r.journaledStages(r.opts.Resume)...)
		}
	}
	f.emit(events.Event{Type: events.RunStarted, Message: events.UndoRun, Stages: stages})
	out := &Outcome{Result: events.Undone, Stages: map[string]*StageRun{}}
	for wi := len(p.Waves) - 1; wi >= 0; wi-- {
		w := p.Waves[wi]
		var undoing, nothing []string
		for i := len(w.Targets) - 1; i >= 0; i-- {
			t := w.Targets[i]
			if _, ok := f.shares[t]; ok {
				undoing = append(undoing, t)
			} else if why, ok := fo.NothingToUndo[t]; ok {
				nothing = append(nothing, "nothing to undo on "+t+": "+why)
			}
		}
		if len(undoing) == 0 && len(nothing) == 0 {
			continue
		}
		if len(undoing) > 0 {
			f.emit(events.Event{Type: events.WaveStarted, Message: events.UndoRun, Wave: w.Name, Targets: undoing})
		}
		var pending []string
		for _, t := range undoing {
			r := f.shares[t]
			o := r.undoJournal(ctx, r.opts.Resume)
			r.finish(o)
			for _, u := range o.UndoPending {
				pending = append(pending, t+": "+u)
			}
		}
		e := events.Event{Type: events.WaveFinished, Wave: w.Name, Targets: undoing, Result: events.Undone, Message: strings.Join(nothing, "; ")}
		if len(pending) > 0 {
			e.Result, e.Error = events.UndoIncomplete, "left: "+strings.Join(pending, "; ")
		}
		f.emit(e)
		out.UndoPending = append(out.UndoPending, pending...)
	}
	if len(out.UndoPending) > 0 {
		out.Result, out.Err = events.UndoIncomplete, errors.New("undo incomplete")
	}
	f.collect(out)
	f.finish(out)
	return out, nil
}

// collect puts every share's stages in the outcome, by address.
func (f *fleet) collect(out *Outcome) {
	out.Tolerated = f.tolerated
	for t, r := range f.all {
		for n, sr := range r.stages {
			out.Stages[Address(n, t)] = sr
		}
	}
}

func (f *fleet) finish(out *Outcome) {
	msg := ""
	if out.Err != nil {
		msg = out.Err.Error()
	}
	e := events.Event{Type: events.RunFinished, Result: out.Result, Error: msg, UndoPending: out.UndoPending}
	if len(f.tolerated) > 0 {
		e.Message = fmt.Sprintf("%s failed within max_failures and %s undone: %s",
			words.Count(len(f.tolerated), "target"), map[bool]string{true: "was", false: "were"}[len(f.tolerated) == 1], strings.Join(f.tolerated, "; "))
	}
	if len(out.Outputs) > 0 {
		e.Outputs = plainJSON(cty.ObjectVal(out.Outputs))
	}
	f.emit(e)
}
