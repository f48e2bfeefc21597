//go:build linux

package analysis

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout/callouttest"
	"github.com/cutoverhq/cutover/steps"
)

// TestExecCancelKillsProcessGroup: a check that is stopped (its timeout, or
// the gate's context) ends with everything it started; before, only the
// direct child was killed and a background grandchild ran on after the gate.
func TestExecCancelKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	callouttest.Fifo(t, filepath.Join(dir, "pid"))
	p, err := newExec(cty.ObjectVal(map[string]cty.Value{
		"command": cty.ListVal([]cty.Value{cty.StringVal("sh"), cty.StringVal("-c"),
			cty.StringVal("(trap '' TERM; exec sleep 300) & echo $! > pid; wait")}),
		"timeout": cty.StringVal("1h"),
	}), &steps.Env{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := p.Measure(ctx)
		done <- err
	}()
	pid := callouttest.ReadPid(t, filepath.Join(dir, "pid"))
	cancel()
	<-done
	callouttest.AssertGone(t, pid)
}
