//go:build linux

package local

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/internal/callout/callouttest"
	"github.com/cutoverhq/cutover/steps"
)

// startAndReadPid runs src in the background and returns the pid the
// command writes to the fifo "pid" in dir, once it has written it.
func startAndReadPid(t *testing.T, ctx context.Context, dir, src string) (int, <-chan error) {
	t.Helper()
	fifo := filepath.Join(dir, "pid")
	callouttest.Fifo(t, fifo)
	errc := make(chan error, 1)
	go func() {
		_, err := run(t, ctx, execKind{}, dir, src)
		errc <- err
	}()
	return callouttest.ReadPid(t, fifo), errc
}

func TestExecCancelKillsProcessGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The grandchild ignores SIGTERM and holds stdout: only a SIGKILL of
	// the whole group ends it.
	pid, errc := startAndReadPid(t, ctx, t.TempDir(),
		`command = ["sh", "-c", "(trap '' TERM; exec sleep 300) & echo $! > pid; wait"]`)
	cancel()
	err := <-errc
	if err == nil {
		t.Fatal("a cancelled command must fail the step")
	}
	if steps.IsRetryable(err) {
		t.Errorf("an interrupt must not be retried: %v", err)
	}
	if !strings.Contains(err.Error(), "exec sh") || !strings.Contains(err.Error(), "killed") {
		t.Errorf("error %q should name the command and say it was killed", err)
	}
	callouttest.AssertGone(t, pid)
}

func TestExecTimeoutKillsChildAndIsRetryable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The stage timeout arrives as a deadline; set one once the child is
	// known to be running, so the test does not race the start.
	dctx, dcancel := context.WithDeadline(ctx, time.Now().Add(time.Hour))
	defer dcancel()
	inner, stop := context.WithCancelCause(dctx)
	defer stop(nil)
	pid, errc := startAndReadPid(t, inner, t.TempDir(),
		`command = ["sh", "-c", "sleep 300 & echo $! > pid; wait"]`)
	stop(context.DeadlineExceeded)
	err := <-errc
	if err == nil || !steps.IsRetryable(err) {
		t.Fatalf("a timed-out attempt must be retryable, got %v", err)
	}
	callouttest.AssertGone(t, pid)
}
