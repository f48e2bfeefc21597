//go:build unix

package callout

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// setProcessGroup puts the command in a process group of its own, so a
// cancellation reaches everything it started (a script's children, `make`'s
// recipes), not only the direct child.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// waitOrKill waits for cmd; when ctx ends first it sends SIGTERM to the
// whole group, then SIGKILL after grace (or as soon as the leader is
// gone, to reap children that ignored SIGTERM). Nothing is left running.
func waitOrKill(ctx context.Context, cmd *exec.Cmd, grace time.Duration) error {
	pgid := cmd.Process.Pid // Setpgid: the group id is the leader's pid
	exited := make(chan struct{})
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		select {
		case <-exited:
			return
		case <-ctx.Done():
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-exited:
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		// Should the group kill have failed (the command left its group),
		// the direct child at least must not outlive the step.
		_ = cmd.Process.Kill()
	}()
	err := cmd.Wait()
	close(exited)
	<-killed
	return err
}

// exitSignal names the signal that ended the process, if one did.
func exitSignal(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return ""
}
