package steps

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends if that comes first: nil after d,
// context.Cause(ctx) when ctx ended (at once when d <= 0). Kinds and
// providers that wait between actions use it, so a cancelled stage never
// outlives its context.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
