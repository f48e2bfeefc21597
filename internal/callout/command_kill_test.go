//go:build linux

package callout_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/internal/callout/callouttest"
)

// TestCommandCancelKillsProcessGroup: the grandchild ignores SIGTERM and
// holds stdout; only a SIGKILL of the whole group after the grace ends it.
func TestCommandCancelKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	callouttest.Fifo(t, filepath.Join(dir, "pid"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan *callout.Result, 1)
	go func() {
		res, _ := callout.Command{Path: "sh", Args: []string{"-c", "(trap '' TERM; exec sleep 300) & echo $! > pid; wait"},
			Dir: dir, Limit: 100, KillGrace: 100 * time.Millisecond, PipeGrace: time.Second}.Run(ctx)
		done <- res
	}()
	pid := callouttest.ReadPid(t, filepath.Join(dir, "pid"))
	cancel()
	if res := <-done; res == nil || res.Signal == "" {
		t.Errorf("result %+v; want the command ended by a signal", res)
	}
	callouttest.AssertGone(t, pid)
}
