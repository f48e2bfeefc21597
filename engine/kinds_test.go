package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// testKind is a configurable step kind for engine tests: it records what
// ran, can fail a number of times, can block until cancelled, and captures
// an undo record.
type testKind struct {
	name string
	log  *eventLog
}

type eventLog struct {
	mu       sync.Mutex
	ran      []string
	undone   []string
	attempts map[string]int
	times    map[string][]time.Time
	inFlight atomic.Int32
	peak     atomic.Int32
	// undoBlocked receives when a block_undo undo starts waiting.
	undoBlocked chan struct{}
}

func newLog() *eventLog {
	return &eventLog{attempts: map[string]int{}, times: map[string][]time.Time{}, undoBlocked: make(chan struct{}, 1)}
}

// at notes that what happened now (times[what]).
func (l *eventLog) at(what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.times[what] = append(l.times[what], time.Now())
}

func (k testKind) Name() string { return k.name }

// testConfig is the block of a testKind.
type testConfig struct {
	Value     string `hcl:"value"`
	Fail      int64  `hcl:"fail"`      // fail this many attempts
	Retryable bool   `hcl:"retryable"` // mark failures retryable
	Block     bool   `hcl:"block"`     // wait until cancelled
	// BlockRetryable: wait until cancelled, then fail as a network call
	// cut short does (a retryable error)
	BlockRetryable bool `hcl:"block_retryable"`
	// BlockStuck: wait until cancelled, then fail as a rollout wait
	// cut short does (steps.Stuck)
	BlockStuck bool          `hcl:"block_stuck"`
	Sleep      time.Duration `hcl:"sleep"`
	// BlockUndo: the undo waits until its context ends (an undo waiting
	// on a rollout that cannot finish)
	BlockUndo bool `hcl:"block_undo"`
}

func (k testKind) Spec() hcldec.Spec { return steps.SpecFor[testConfig]() }

func (k testKind) Output() cty.Type {
	return cty.Object(map[string]cty.Type{"value": cty.String, "attempt": cty.Number})
}

func (k testKind) Check(cfg cty.Value) []steps.Problem {
	var c testConfig
	_, err := steps.Decode(cfg, &c)
	return steps.ProblemsOf(err)
}

func (k testKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	var c testConfig
	if _, err := steps.Decode(cfg, &c); err != nil {
		return cty.NilVal, err
	}
	l := k.log
	n := l.inFlight.Add(1)
	defer l.inFlight.Add(-1)
	for {
		p := l.peak.Load()
		if n <= p || l.peak.CompareAndSwap(p, n) {
			break
		}
	}
	l.mu.Lock()
	l.attempts[env.Stage]++
	attempt := l.attempts[env.Stage]
	l.times[env.Stage] = append(l.times[env.Stage], time.Now())
	l.mu.Unlock()
	if err := env.Record(map[string]any{"stage": env.Stage, "attempt": attempt, "block_undo": c.BlockUndo}); err != nil {
		return cty.NilVal, err
	}
	if d := c.Sleep; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return cty.NilVal, ctx.Err()
		}
	}
	if c.Block {
		<-ctx.Done()
		return cty.NilVal, ctx.Err()
	}
	if c.BlockRetryable {
		<-ctx.Done()
		return cty.NilVal, steps.Retryable(fmt.Errorf("GET http://x: %w", ctx.Err()))
	}
	if c.BlockStuck {
		<-ctx.Done()
		return cty.NilVal, steps.Stuck(fmt.Errorf("waiting for deployment/web: %w", ctx.Err()))
	}
	if int64(attempt) <= c.Fail {
		err := fmt.Errorf("%s failed on attempt %d", env.Stage, attempt)
		if c.Retryable {
			return cty.NilVal, steps.Retryable(err)
		}
		return cty.NilVal, err
	}
	l.mu.Lock()
	l.ran = append(l.ran, env.Stage)
	l.mu.Unlock()
	return cty.ObjectVal(map[string]cty.Value{"value": cty.StringVal(c.Value), "attempt": cty.NumberIntVal(int64(attempt))}), nil
}

func (k testKind) Undo(ctx context.Context, env *steps.Env, records []json.RawMessage) error {
	if len(records) == 0 {
		return errors.New("undo without records")
	}
	var rec struct {
		BlockUndo bool `json:"block_undo"`
	}
	if json.Unmarshal(records[0], &rec) == nil && rec.BlockUndo {
		k.log.undoBlocked <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	k.log.mu.Lock()
	defer k.log.mu.Unlock()
	name := env.Stage
	if env.Namespace != "" {
		name = env.Namespace + "/" + name // a target's share (fleet_test.go)
	}
	k.log.undone = append(k.log.undone, name)
	return nil
}

func testRegistry(l *eventLog) *steps.Registry {
	r := steps.NewRegistry()
	r.Register(testKind{name: "step", log: l})
	r.Register(plainKind{})
	r.Register(lookKind{})
	r.Register(safeKind{log: l})
	return r
}

// plainKind has no built-in undo.
type plainKind struct{}

func (plainKind) Name() string      { return "plain" }
func (plainKind) Spec() hcldec.Spec { return &hcldec.ObjectSpec{} }
func (plainKind) Output() cty.Type  { return cty.EmptyObject }
func (plainKind) Run(context.Context, *steps.Env, cty.Value) (cty.Value, error) {
	return cty.EmptyObjectVal, nil
}

// lookKind is read-only; with `until` set it waits for the channel of that
// name in lookGates to close.
type lookKind struct{}

var lookGates sync.Map // name → chan struct{}

func (lookKind) Name() string { return "look" }
func (lookKind) ReadOnly()    {}

// lookConfig is the block of a lookKind.
type lookConfig struct {
	Until string `hcl:"until"`
}

func (lookKind) Spec() hcldec.Spec { return steps.SpecFor[lookConfig]() }
func (lookKind) Output() cty.Type  { return cty.EmptyObject }
func (lookKind) Run(ctx context.Context, _ *steps.Env, cfg cty.Value) (cty.Value, error) {
	var c lookConfig
	if _, err := steps.Decode(cfg, &c); err != nil {
		return cty.NilVal, err
	}
	if name := c.Until; name != "" {
		ch, _ := lookGates.Load(name)
		select {
		case <-ch.(chan struct{}):
		case <-ctx.Done():
			return cty.NilVal, ctx.Err()
		}
	}
	return cty.EmptyObjectVal, nil
}
