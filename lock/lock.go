// Package lock keeps two runs of one pipeline (or of anything sharing a lock
// name) from releasing at the same time, by client-go's leader-election rules
// (docs/design.md, "The lock"): a holder is alive while someone sees its
// renewals, judged on the observer's own clock, never on the holder's.
package lock

import (
	"context"
	"fmt"
	"time"
)

// Holder is who holds a lock: the run and the process behind it.
type Holder struct {
	RunID string `json:"run"`
	Who   string `json:"who"` // user@host (pid N), or the CI job's URL
}

func (h Holder) String() string {
	if h.Who == "" {
		return "run " + h.RunID
	}
	return fmt.Sprintf("run %s (%s)", h.RunID, h.Who)
}

// Options tune Acquire.
type Options struct {
	// Wait bounds how long Acquire waits for a live holder to let go; 0
	// returns *HeldError as soon as the holder is seen alive.
	Wait time.Duration
	// OnWait, when set, is told once whom Acquire is waiting for and why
	// (alive, or being watched to see whether it still renews).
	OnWait func(msg string)
}

// Locker acquires named locks.
type Locker interface {
	// Acquire takes the lock for h. A lock another holder renews is refused
	// with *HeldError (after opts.Wait). A holder not seen renewing for a
	// whole lease duration, measured on this process's clock from when it
	// first looked, is taken over — the same run's earlier process
	// included: a resume never takes a lock from a process still alive.
	// A holder that releases the lock while watched ended normally: without
	// opts.Wait that is *ReleasedError (its run was in progress when we
	// asked, and may have released something newer than ours), with it the
	// lock is taken.
	Acquire(ctx context.Context, name string, h Holder, opts Options) (Lock, error)
}

// Lock is a held lock.
type Lock interface {
	// Lost is closed once the lock can no longer be trusted to be ours:
	// renewal failed until the renew deadline, the Lease was deleted, taken
	// or may no longer be updated. The holder must stop writing at once.
	Lost() <-chan struct{}
	// Err says why the lock was lost (nil while held).
	Err() error
	Release(ctx context.Context) error
}

// HeldError says who holds a lock.
type HeldError struct {
	Name   string
	Holder Holder
	Since  time.Time
	// Renewed is when this process last saw the holder renew.
	Renewed time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("lock %q is held by %s since %s (renewed %s ago)",
		e.Name, e.Holder, e.Since.Format(time.RFC3339), time.Since(e.Renewed).Round(time.Second))
}

// ReleasedError says that the holder found at first look released the lock
// while this process watched it: that run ended (it did not die) while we
// decided whether it was alive, and nothing was taken.
type ReleasedError struct {
	Name   string
	Holder Holder
}

func (e *ReleasedError) Error() string {
	return fmt.Sprintf("lock %q was released by %s while this process waited to see whether it still renewed", e.Name, e.Holder)
}
