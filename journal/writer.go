package journal

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sethvargo/go-retry"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cutoverhq/cutover/kube"
)

// parts is what a cluster journal's storage (Secrets, ConfigMaps) gives the
// write loop both share. Every write carries the resourceVersion the
// journal last saw of the object it changes, so a write based on a stale
// view fails with Conflict (or AlreadyExists for a part someone else
// created) instead of overwriting what another process stored.
type parts interface {
	// put stores a prefix of es, already numbered, at the end of the
	// journal in one request and says how many it stored. It may store
	// none when it only sealed a full part (the next put starts a new
	// one). meta, when not nil, is written by the same request if all of
	// es go to part 1, which holds the meta; put says whether it was.
	put(ctx context.Context, es []Entry, meta *Meta) (stored int, metaDone bool, err error)
	// putMeta writes meta to part 1.
	putMeta(ctx context.Context, m Meta) error
	// reload reads the run again with a quorum read (after a conflict)
	// and returns what is stored; the next put and putMeta start from it.
	reload(ctx context.Context) (Meta, []Entry, error)
}

// maxConflicts bounds how often one write starts over because another
// process wrote first; each time, one of the writers made progress.
const maxConflicts = 50

// writer is the state a cluster journal keeps between writes.
type writer struct {
	mu       sync.Mutex
	meta     Meta
	next     int // seq of the last entry known to be stored
	entryCap int
}

func (w *writer) Meta() Meta {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.meta
}

// write appends entries and, when status is not nil, sets the run's
// status. On a conflict it re-reads the run, keeps what another writer
// stored, places the entries not yet stored after theirs (new seqs) and
// tries again: no stored entry is ever overwritten, and the status only
// changes by a SetStatus, never by an append from a stale view.
func (w *writer) write(ctx context.Context, p parts, entries []Entry, status *string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	pend, err := prepare(entries, w.entryCap)
	if err != nil {
		return fmt.Errorf("journal of run %s: %w", w.meta.RunID, err)
	}
	metaDone := status == nil
	for conflicts := 0; ; conflicts++ {
		err := w.try(ctx, p, &pend, status, &metaDone)
		if err == nil || !isConflict(err) {
			return err
		}
		if conflicts == maxConflicts {
			return fmt.Errorf("journal of run %s: %d writes in a row lost to other writers: %w", w.meta.RunID, conflicts+1, err)
		}
		m, stored, err := p.reload(ctx)
		if err != nil {
			return err
		}
		pend = unlanded(pend, after(stored, w.next))
		w.meta, w.next = m, lastSeq(stored)
	}
}

func (w *writer) try(ctx context.Context, p parts, pend *[]pending, status *string, metaDone *bool) error {
	for len(*pend) > 0 {
		number(*pend, w.next)
		es := make([]Entry, len(*pend))
		for i := range *pend {
			es[i] = (*pend)[i].e
		}
		var meta *Meta
		if !*metaDone {
			m := w.meta
			m.Status = *status
			meta = &m
		}
		n, done, err := p.put(ctx, es, meta)
		if err != nil {
			return err
		}
		w.next += n
		*pend = (*pend)[n:]
		if done {
			w.meta, *metaDone = *meta, true
		}
	}
	if !*metaDone {
		m := w.meta
		m.Status = *status
		if err := p.putMeta(ctx, m); err != nil {
			return err
		}
		w.meta, *metaDone = m, true
	}
	return nil
}

func isConflict(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}

// transient retries what a blip of the API server causes, for up to ~30s:
// a journal write must survive it, or the run would stop for nothing. A
// conflict is not retried here: the write is stale, and the caller
// re-reads before writing again.
func transient(ctx context.Context, f func(context.Context) error) error {
	b := retry.WithMaxDuration(30*time.Second, retry.WithCappedDuration(4*time.Second, retry.NewExponential(100*time.Millisecond)))
	return retry.Do(ctx, b, func(ctx context.Context) error {
		err := f(ctx)
		if kube.IsTransient(err) && !isConflict(err) {
			return retry.RetryableError(err)
		}
		return err
	})
}
