package steps

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cutoverhq/cutover/kube"
)

// retryable marks an error as worth another attempt (a transient API error,
// a non-zero exit of a command). Unmarked errors fail the stage at once.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// Retryable marks err as retryable; nil stays nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return retryable{err}
}

// IsRetryable reports whether err, or an error it wraps, was marked Retryable.
func IsRetryable(err error) bool {
	var r retryable
	return errors.As(err, &r)
}

// APIError is the one classification of an error from the Kubernetes API
// for every kind: retryable when another attempt may succeed
// (kube.IsTransient: server errors, throttling, conflicts, timeouts,
// dropped connections), else final; nil stays nil. A cancelled or expired
// context is never retryable here: the engine decides what a stage's
// timeout means, except that a rollout wait it cut short
// (kube.RolloutUnfinished) is marked Stuck.
func APIError(err error) error {
	var unfinished *kube.RolloutUnfinished
	switch {
	case err == nil:
		return nil
	case errors.As(err, &unfinished):
		return Stuck(err)
	case kube.IsTransient(err):
		return Retryable(err)
	}
	return err
}

// stuck marks a wait that ran out of time on something another attempt
// would wait for in the same way.
type stuck struct{ err error }

func (s stuck) Error() string { return s.err.Error() }
func (s stuck) Unwrap() error { return s.err }

// Stuck marks err, the end of a wait cut short by the attempt's timeout, as
// not worth another attempt: a rollout that did not finish goes on at the
// controllers' pace whatever the step does, and waiting again only doubles
// the wait. The engine retries such a timeout only when the stage's retry
// block says `timeouts = true` (docs/design.md, "Rollout waits"). nil stays nil.
func Stuck(err error) error {
	if err == nil {
		return nil
	}
	return stuck{err}
}

// IsStuck reports whether err, or an error it wraps, was marked Stuck.
func IsStuck(err error) bool {
	var s stuck
	return errors.As(err, &s)
}

// DriftError is returned by an Undo that left objects alone because someone
// changed them since this run wrote them (a person's fix, an HPA's replica
// count, an object deleted and re-created). Each entry names the object and
// what changed: "service shop: selector changed since this run set it; left
// as is".
// The engine reports them, ends the run with exit 3 and does not retry;
// `cutover undo --force` restores anyway.
type DriftError struct{ Changed []string }

// Each entry says what changed and ends "left as is": the error is them,
// with nothing around that would say it twice.
func (e *DriftError) Error() string {
	return strings.Join(e.Changed, "; ")
}

// TargetError is returned by an Undo given a record that names an object its
// stage does not target: the journal was altered, or the pipeline changed
// since the run. Nothing is written for it.
type TargetError struct{ Record, Why string }

func (e *TargetError) Error() string {
	return fmt.Sprintf("refused an undo record for %s: %s", e.Record, e.Why)
}
