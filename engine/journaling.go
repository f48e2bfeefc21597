package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/cutoverhq/cutover/internal/defaults"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/steps"
)

// The journaling policy: what is made durable before what, and what rides
// along with the next write (docs/design.md, "Run state").

// journal appends entries durably, together with those noted since the
// last append; a run whose journal cannot be written must not go on, so the
// error stops the stage. It is called before anything acts on the cluster
// (every undo record, before the write it protects), for a stage start
// that carries an outcome that matters, and at the end.
func (r *runner) journal(ctx context.Context, entries ...journal.Entry) error {
	if err := r.lockLost(); err != nil {
		return err
	}
	if r.opts.Journal == nil {
		return nil
	}
	r.jmu.Lock()
	defer r.jmu.Unlock()
	now := time.Now()
	for i := range entries {
		entries[i].Time = now
	}
	batch := append(r.noted, entries...)
	if len(batch) == 0 {
		return nil
	}
	if err := r.opts.Journal.Append(context.WithoutCancel(ctx), batch...); err != nil {
		return fmt.Errorf("writing the run journal: %w", err)
	}
	r.noted, r.notedMatters = nil, false
	return nil
}

// note queues entries for the next append: news (a stage started,
// succeeded, was skipped; an undo finished) need not cost a request of its
// own when nothing acts before the next durable append carries it. A
// process killed in between loses only that news. Undo records are never
// queued. matters marks an outcome whose loss would change what a resume
// or an undo does (see startEntry).
func (r *runner) note(matters bool, entries ...journal.Entry) {
	if r.opts.Journal == nil {
		return
	}
	r.jmu.Lock()
	defer r.jmu.Unlock()
	now := time.Now()
	for i := range entries {
		entries[i].Time = now
	}
	r.noted = append(r.noted, entries...)
	r.notedMatters = r.notedMatters || matters
}

// startEntry journals the start of an attempt. It is durable at once only
// when the queue holds an outcome that matters: a stage that succeeded
// whose re-run is not known to be harmless (a command, a webhook) or whose
// own undo block an undo must run. Any other start rides on the stage's
// first undo record, or is flushed once the stage has run for
// journalFlushAfter, so `cutover status` still shows a long wait; stop
// cancels that flush. A target's share makes its first start durable at
// once too: until then its journal, created when the release started, has
// nothing started, which `cutover status` shows as its wave not come yet.
func (r *runner) startEntry(ctx context.Context, e journal.Entry) (stop func(), err error) {
	r.jmu.Lock()
	matters := r.notedMatters || (r.opts.Target != "" && !r.startJournaled)
	r.startJournaled = true
	r.jmu.Unlock()
	if matters {
		return func() {}, r.journal(ctx, e)
	}
	r.note(false, e)
	t := time.AfterFunc(journalFlushAfter, func() { _ = r.journal(ctx) })
	return func() { t.Stop() }, nil
}

// journalFlushAfter is how long queued news waits while a stage runs (a
// variable for tests).
var journalFlushAfter = defaults.JournalFlush

// outcomeMatters says whether losing the news that sr succeeded would
// change a resume or an undo: a resumed run would repeat a step that is
// not read-only and left no undo records (its effect is unknown to
// cutover), and an undo runs a stage's own undo block only for a stage it
// knows succeeded. Read-only steps are checked again, harmlessly; writes
// with records are re-applied idempotently and undone from the records.
func (r *runner) outcomeMatters(sr *StageRun) bool {
	st := r.p.Stages[sr.Name]
	if st.Undo != nil && st.Undo.Step != nil {
		return true
	}
	if _, ro := st.Kind.(steps.ReadOnly); ro {
		return false
	}
	return len(sr.records) == 0
}
