// Package lock keeps two runs of one pipeline (or of anything sharing a lock
// name) from releasing at the same time.
package lock

import (
	"context"
	"fmt"
	"time"
)

// Locker acquires named locks.
type Locker interface {
	// Acquire takes the lock for holder. With wait it blocks until the lock
	// is free (or ctx ends); without, it returns *HeldError at once when
	// another live holder has it. An expired holder is taken over, and so is
	// one whose identity starts with the same word (the run id): a resumed
	// run takes back the lock of the process that died. The lock
	// is renewed in the background until Release.
	Acquire(ctx context.Context, name, holder string, wait bool) (Lock, error)
}

// Lock is a held lock.
type Lock interface {
	// Lost is closed when renewal failed and the lock can no longer be
	// trusted to be ours; the run should stop.
	Lost() <-chan struct{}
	Release(ctx context.Context) error
}

// HeldError says who holds a lock.
type HeldError struct {
	Name    string
	Holder  string
	Since   time.Time
	Expires time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("lock %q is held by %s since %s (expires %s unless renewed)",
		e.Name, e.Holder, e.Since.Format(time.RFC3339), e.Expires.Format(time.RFC3339))
}
