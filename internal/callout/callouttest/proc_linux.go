//go:build linux

// Package callouttest holds what the tests of every caller of callout need
// to prove a command left nothing running.
package callouttest

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Fifo makes a named pipe at path, for a command to write a pid to.
func Fifo(t testing.TB, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

// ReadPid returns the pid a command writes to the fifo at path. Opening a
// fifo for reading blocks until the command opens it for writing: no
// polling, the command itself says when the process it names runs.
func ReadPid(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid %q: %v", b, err)
	}
	return pid
}

// AssertGone waits (on a pidfd, not a sleep) for pid to have exited. The
// deadline only guards against hanging the test binary.
func AssertGone(t testing.TB, pid int) {
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
	if n, err := unix.Poll(fds, int((30 * time.Second).Milliseconds())); err != nil || n != 1 {
		t.Fatalf("process %d is still running after the command returned (poll: %d, %v)", pid, n, err)
	}
}
