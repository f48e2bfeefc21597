package workloads

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/steps"
)

// A rollout whose pods the scheduler cannot place says so while it waits,
// in the scheduler's words, and its end by the attempt's timeout is marked
// Stuck, so the engine does not wait for the same pods again.
func TestE2EDeployNamesUnschedulablePods(t *testing.T) {
	e := newE2E(t)
	m := strings.Replace(webManifest("nowhere", "app:v1", 2, nil),
		"    spec:\n      containers:", "    spec:\n      nodeSelector: {cutover.test/no-such-node: \"true\"}\n      containers:", 1)
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	ch := make(chan string, 64)
	errc := make(chan error, 1)
	go func() {
		_, err := deployKind{}.Run(ctx, e.env(ch), deployCfg([]string{m}, nil, nil))
		errc <- err
	}()
	if !hasMessage(ch, "Pending: 0/", ctx) {
		t.Fatalf("no progress message named a pending pod before %v", ctx.Err())
	}
	// The attempt's timeout, as the engine ends it.
	cancel()
	err := <-errc
	if !steps.IsStuck(err) || steps.IsRetryable(err) {
		t.Errorf("err = %v: want it marked stuck, not retryable", err)
	}
	if err == nil || !strings.Contains(err.Error(), "didn't match Pod's node affinity/selector") {
		t.Errorf("err = %v: want the last message, with the scheduler's reason", err)
	}
}
