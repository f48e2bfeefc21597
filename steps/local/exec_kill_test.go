//go:build linux

package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cutoverhq/cutover/steps"
)

// startAndReadPid runs src in the background and returns the pid the
// command writes to the fifo "pid" in dir, once it has written it.
func startAndReadPid(t *testing.T, ctx context.Context, dir, src string) (int, <-chan error) {
	t.Helper()
	fifo := filepath.Join(dir, "pid")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := run(t, ctx, execKind{}, dir, src)
		errc <- err
	}()
	// Opening a fifo for reading blocks until the command opens it for
	// writing: no polling, the command itself says when it is ready.
	b, err := os.ReadFile(fifo)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid %q: %v", b, err)
	}
	return pid, errc
}

// assertGone waits (on a pidfd, not a sleep) for pid to have exited. A
// deadline only guards against hanging the test binary.
func assertGone(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return // already reaped
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int((30 * time.Second).Milliseconds()))
	if err != nil || n != 1 {
		t.Fatalf("process %d is still running after the step returned (poll: %d, %v)", pid, n, err)
	}
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
	assertGone(t, pid)
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
	assertGone(t, pid)
}
