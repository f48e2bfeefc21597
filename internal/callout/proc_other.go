//go:build !unix

package callout

import (
	"context"
	"os"
	"os/exec"
	"time"
)

// Without process groups the best available is killing the direct child.
func setProcessGroup(*exec.Cmd) {}

func waitOrKill(ctx context.Context, cmd *exec.Cmd, _ time.Duration) error {
	exited := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Kill()
		case <-exited:
		}
	}()
	err := cmd.Wait()
	close(exited)
	return err
}

func exitSignal(*os.ProcessState) string { return "" }
