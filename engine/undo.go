package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/sethvargo/go-retry"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/defaults"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/steps"
)

// undoAll compensates, newest first, every stage that changed something:
// succeeded stages (their undo block, or the step's built-in undo) and
// failed or cancelled ones that captured undo records before writing. It
// returns the stages whose undo failed. A lost lock stops it at once, as
// it stops a run: someone else may hold the lock now, and undoing further
// could undo their work; what is left is pending, and lockLost says why.
func (r *runner) undoAll(ctx context.Context) (pending []string) {
	ctx, stop := r.watchLock(ctx)
	defer stop()
	r.mu.Lock()
	r.undoing = true
	r.mu.Unlock()
	var todo []*StageRun
	for _, sr := range r.stages {
		switch sr.Status {
		case events.StatusSucceeded:
			todo = append(todo, sr)
		case events.StatusFailed, events.StatusCancelled:
			if len(sr.records) > 0 {
				todo = append(todo, sr)
			}
		}
	}
	tier := r.undoOrder(todo)
	var failed []string // stages whose compensation failed (not: left as is)
	for _, sr := range todo {
		if r.lockLost() != nil {
			pending = append(pending, sr.Name+": not undone: the undo stopped when the lock was lost")
			continue
		}
		var err error
		if tier[sr] == tierReleases && len(failed) > 0 {
			// A hold released over a compensation that failed lets the
			// controller act on the release's spec (a Deployment rolls it
			// forward): kept, and said so, until an undo gets them all.
			err = fmt.Errorf("its hold (spec.paused) is kept: the undo of %s failed, and lifting the hold now would let the controller act on what was not restored (a Deployment would roll the release forward); cutover undo lifts it once the rest is undone", strings.Join(failed, ", "))
			r.undoRefused(sr, err)
		} else {
			err = r.undoStage(ctx, sr, tier[sr] == tierShrinks)
		}
		var drift *steps.DriftError
		if err != nil && !errors.As(err, &drift) {
			failed = append(failed, sr.Name)
		}
		switch {
		case err != nil && r.lockLost() != nil:
			pending = append(pending, sr.Name+": not undone: the undo stopped when the lock was lost")
		case err != nil:
			pending = append(pending, fmt.Sprintf("%s: %s", sr.Name, r.red.String(err.Error())))
		}
	}
	return pending
}

// The order compensations run in (undoOrder), newest first within each.
const (
	tierOthers   = iota
	tierShrinks  // steps.Shrinker: takes capacity away
	tierReleases // steps.Releaser: lets a controller act again
)

// undoOrder sorts what to undo: newest first, except that compensations
// that take capacity away (steps.Shrinker) go after the others, and those
// that release a hold on a controller (steps.Releaser) last of all. A
// cancelled CI job has seconds (GitHub: 10 s to SIGKILL): clients must be
// back on the old version (selectors, weights, backends) before the new one
// is deleted, whatever order the pipeline's stages ran in. Traffic does not
// jump ahead of the rest: a scale-up of the old version that is newer than
// the switch to it must come first, which newest-first ensures. A paused
// rollout is resumed only once its old template is back (a deploy's undo
// is a Shrinker, hence releases after those): resumed earlier, the
// Deployment controller rolls the release forward, deleting old pods. It
// returns each stage's tier.
func (r *runner) undoOrder(todo []*StageRun) map[*StageRun]int {
	tier := make(map[*StageRun]int, len(todo)) // decoded once, not per comparison
	for _, sr := range todo {
		st := r.p.Stages[sr.Name]
		builtin := st.Undo == nil || sr.Status != events.StatusSucceeded
		if rl, ok := st.Kind.(steps.Releaser); ok && builtin && rl.UndoReleases(sr.records) {
			tier[sr] = tierReleases
		} else if sh, ok := st.Kind.(steps.Shrinker); ok && builtin && sh.UndoShrinks(sr.records) {
			tier[sr] = tierShrinks
		}
	}
	sort.SliceStable(todo, func(i, j int) bool {
		if ti, tj := tier[todo[i]], tier[todo[j]]; ti != tj {
			return ti < tj
		}
		return todo[i].finished > todo[j].finished
	})
	return tier
}

// undoRefused ends a stage's undo, not run, as failed with err.
func (r *runner) undoRefused(sr *StageRun, err error) {
	r.transition(sr, toUndoStarted, events.Event{}, journal.Entry{}, false)
	r.transition(sr, toUndoFailed, events.Event{Error: err.Error()}, journal.Entry{}, false)
}

// undoStage runs one stage's compensation; one that shrinks first waits
// for the data plane to follow the traffic undone before it.
func (r *runner) undoStage(ctx context.Context, sr *StageRun, shrinks bool) error {
	st := r.p.Stages[sr.Name]
	var do func(context.Context) error
	switch {
	case st.Undo != nil && st.Undo.Step == nil:
		return nil // undo {}: nothing to undo, said so explicitly
	case st.Undo != nil && sr.Status == events.StatusSucceeded:
		do = func(ctx context.Context) error { return r.runUndoBlock(ctx, sr) }
	default:
		u, ok := st.Kind.(steps.Undoer)
		if !ok || len(sr.records) == 0 {
			return nil
		}
		evalCtx := r.undoContext(sr)
		env := r.env(sr.Name, evalCtx, st.Step.Body, sr)
		env.Capture, env.Note = nil, nil // an undo records nothing to undo in turn
		env.Config = undoConfig(st, evalCtx)
		do = func(ctx context.Context) error { return u.Undo(ctx, env, sr.records) }
	}
	if shrinks {
		compensate := do
		do = func(ctx context.Context) error {
			if err := r.awaitDrain(ctx, sr.Name, r.progress(sr)); err != nil {
				return err
			}
			return compensate(ctx)
		}
	}
	started := time.Now()
	// Every undo is bounded, retries included: one waiting for a rollout
	// that cannot finish ends "undo failed", naming what it waited for,
	// and the other stages are still undone (docs/design.md, "Undo").
	bound, why := undoBound(st)
	ctx, cancel := context.WithTimeoutCause(ctx, bound, fmt.Errorf("the undo's bound of %s (%s) was reached", bound, why))
	defer cancel()
	r.transition(sr, toUndoStarted, events.Event{}, journal.Entry{Deadline: deadline(ctx, 0)}, false)
	// Undo is the path that must not give up on a blip: transient errors
	// are retried a few times whatever the stage's own retry said.
	err := retry.Do(ctx, retry.WithMaxRetries(4, retry.NewExponential(500*time.Millisecond)), func(ctx context.Context) error {
		err := do(ctx)
		if err != nil && steps.IsRetryable(err) && ctx.Err() == nil {
			return retry.RetryableError(err)
		}
		return err
	})
	elapsed := events.Event{Elapsed: time.Since(started)}
	var drift *steps.DriftError
	switch {
	case errors.As(err, &drift):
		elapsed.Error = err.Error()
		r.transition(sr, toLeftAsIs, elapsed, journal.Entry{}, false)
	case err != nil:
		elapsed.Error = err.Error()
		r.transition(sr, toUndoFailed, elapsed, journal.Entry{}, false)
	default:
		r.transition(sr, toUndone, elapsed, journal.Entry{}, false)
	}
	return err
}

// undoBound is how long a stage's undo may take: the stage's timeout,
// else defaults.UndoTimeout; why says which, for the message.
func undoBound(st *Stage) (time.Duration, string) {
	if st.Timeout > 0 {
		return st.Timeout, "the stage's timeout"
	}
	return defaults.UndoTimeout, "the default for a stage without a timeout"
}

// undoConfig is the stage's step block as its undo sees it, for the kind's
// check that every record names an object the stage targets; unknown where
// it cannot be evaluated (a variable not given again, an output lost).
func undoConfig(st *Stage, ctx *hcl.EvalContext) cty.Value {
	spec := st.Step.Spec
	cfg, diags := hcldec.Decode(st.Step.Body, spec, ctx)
	if diags.HasErrors() {
		return cty.UnknownVal(hcldec.ImpliedType(spec))
	}
	cfg, _ = cfg.UnmarkDeep()
	return cfg
}

// undoContext is what a stage's undo is evaluated in: its dependencies'
// outputs and its own. References were checked at load, so an undo block can
// use nothing else; building every stage's value for every undone stage
// would make undoing a large pipeline quadratic.
func (r *runner) undoContext(sr *StageRun) *hcl.EvalContext {
	st := r.p.Stages[sr.Name]
	return st.Context(r.evalContext(r.doneStates(append(slices.Clip(st.Deps), sr.Name))))
}

// runUndoBlock runs a stage's `undo { <step> }`, evaluated with its
// dependencies' outputs and its own.
func (r *runner) runUndoBlock(ctx context.Context, sr *StageRun) error {
	u := r.p.Stages[sr.Name].Undo.Step
	evalCtx := r.undoContext(sr)
	cfg, diags := hcldec.Decode(u.Body, u.Spec, evalCtx)
	if diags.HasErrors() {
		return fmt.Errorf("evaluating the undo block: %s", diagText(diags))
	}
	cfg, _ = cfg.UnmarkDeep()
	env := r.env(sr.Name, evalCtx, u.Body, sr)
	env.Capture = nil
	_, err := u.Kind.Run(ctx, env, cfg)
	return err
}

// restore loads what an earlier attempt of this run journaled: finished
// stages keep their status and output, every stage keeps its undo records,
// and the completion order is preserved for undo.
func (r *runner) restore(entries []journal.Entry) {
	for _, e := range entries {
		sr, ok := r.stages[e.Stage]
		if !ok {
			continue
		}
		if e.Kind == journal.KindRecord {
			sr.records = append(sr.records, e.Data)
			continue
		}
		t, ok := transitionOf(e)
		if !ok {
			continue // a status this version does not know: not acted on
		}
		switch t {
		case toStarted:
			sr.Attempts = e.Attempt
			sr.resumedUntil = e.Deadline // kept only while it is the stage's last news
		case toSucceeded, toSkipped:
			sr.Status, sr.resumedUntil = t.status, time.Time{}
			sr.Output = cty.NullVal(cty.DynamicPseudoType)
			if len(e.Data) > 0 {
				if v, err := ctyjson.Unmarshal(e.Data, cty.DynamicPseudoType); err == nil {
					sr.Output = v
				}
			}
			r.seq++
			sr.finished = r.seq
		case toFailed, toCancelled:
			sr.Status, sr.resumedUntil = t.status, time.Time{}
			r.seq++
			sr.finished = r.seq
		case toUndone:
			sr.Status = t.status
		}
	}
	for _, sr := range r.stages {
		if sr.Status == events.StatusFailed || sr.Status == events.StatusCancelled {
			sr.Status = events.StatusPending // a resumed run tries it again
		}
	}
}

// Undo compensates a run from its journal alone (the process that ran it is
// gone): every stage that changed something and is not undone yet, newest
// first.
func (p *Program) Undo(ctx context.Context, opts Options, entries []journal.Entry) (*Outcome, error) {
	r := p.newRunner(opts)
	r.emit(events.Event{Type: events.RunStarted, Message: events.UndoRun, Stages: r.journaledStages(entries)})
	out := r.undoJournal(ctx, entries)
	r.finish(out)
	return out, nil
}

// journaledStages are the stages as an undo's RunStarted lists them: each
// with the status the run's journal (entries) gives it.
func (r *runner) journaledStages(entries []journal.Entry) []events.Stage {
	status := map[string]events.Status{}
	for _, e := range entries {
		if t, ok := transitionOf(e); ok && t.status != "" {
			status[e.Stage] = t.status
		}
	}
	out := r.eventStages()
	for i, n := range r.p.Order {
		switch out[i].Status = status[n]; out[i].Status {
		case "":
			out[i].Status = events.StatusNotRun
		case events.StatusRunning:
			out[i].Status = events.StatusCancelled // in flight when its process died
		}
	}
	return out
}

// undoJournal undoes what entries say this run changed.
func (r *runner) undoJournal(ctx context.Context, entries []journal.Entry) *Outcome {
	r.restore(entries)
	// restore marks interrupted stages pending for a resume; for an undo,
	// a stage with records that never finished is treated as cancelled.
	for _, sr := range r.stages {
		if sr.Status == events.StatusPending && len(sr.records) > 0 {
			sr.Status = events.StatusCancelled
			r.seq++
			sr.finished = r.seq
		}
	}
	out := &Outcome{Stages: r.stages}
	out.UndoPending = r.undoAll(ctx)
	if err := r.lockLost(); err != nil {
		out.Result, out.Err = events.LockLost, err
		return out
	}
	out.Result = events.Undone
	if len(out.UndoPending) > 0 {
		out.Result = events.UndoIncomplete
		out.Err = fmt.Errorf("undo incomplete")
	}
	return out
}

// RecordsOf is for tests and `status`: the raw undo records of a stage.
func (o *Outcome) RecordsOf(stage string) []json.RawMessage {
	if sr, ok := o.Stages[stage]; ok {
		return sr.records
	}
	return nil
}
