// Package defaults holds every timing default of cutover in one place: how
// long things wait, how often they look, how much grace they get. The step
// kinds, the analysis providers, the lock and the commands read them from
// here, and docs/design.md ("Defaults") lists them; the language reference
// (docs/language.md) shows the ones a pipeline can override. It imports
// nothing, so any package may use it.
package defaults

import "time"

// The command line.
const (
	// Grace is --grace: the time allowed to undo after SIGINT/SIGTERM.
	Grace = 60 * time.Second
	// WaitLock is --wait-lock given alone: how long a run waits for a lock
	// a live run holds.
	WaitLock = 10 * time.Minute
)

// The lock: client-go's leader-election values, so a lock behaves like the
// controllers' leases an operator already knows (docs/design.md, "The lock").
const (
	LeaseDuration = 15 * time.Second
	RenewDeadline = 10 * time.Second
	RetryPeriod   = 2 * time.Second
)

// Step kinds.
const (
	// PauseTimeout is how long a pause waits for an answer.
	PauseTimeout = time.Hour
	// HTTPTimeout bounds one request of the http step.
	HTTPTimeout = 30 * time.Second
	// ExecKillGrace is how long a command of the exec step has between
	// SIGTERM and SIGKILL when its stage ends; ExecPipeGrace how long its
	// output is read after it exits (a child holding the pipe open).
	ExecKillGrace = 5 * time.Second
	ExecPipeGrace = 2 * time.Second
	// UndoTimeout bounds the undo of a stage without a timeout of its own
	// (a stage's undo gets its timeout): an undo waiting on a rollout that
	// cannot finish ends "undo failed" and the others go on.
	UndoTimeout = 10 * time.Minute
	// TerminationGrace is Kubernetes's terminationGracePeriodSeconds when a
	// pod spec does not set it (the lint's capacity rules).
	TerminationGrace = 30 * time.Second
	// DrainDelay is drain_delay of the kinds that move traffic: how long
	// the data plane (kube-proxy's sync, an ingress controller's reload, a
	// mesh's push: a few seconds each) is given to follow a switch before
	// the run removes or scales down what clients reached. Short enough
	// that an undo on a cancelled CI job (GitHub: 10 s to SIGKILL) still
	// gets to the deletions (docs/design.md, "Draining").
	DrainDelay = 5 * time.Second
)

// Analyses (verify and the analysis providers).
const (
	// AnalysisInterval is the time between measurements, AnalysisCount
	// how many are taken, AnalysisConsecutiveErrorLimit how many errors in
	// a row end an analysis.
	AnalysisInterval              = 10 * time.Second
	AnalysisCount                 = 1
	AnalysisConsecutiveErrorLimit = 4
	// The timeouts of one measurement, per provider.
	HTTPMeasureTimeout       = 10 * time.Second
	PrometheusMeasureTimeout = 30 * time.Second
	ExecMeasureTimeout       = time.Minute
	// ProbeDuration is how long one probe measurement sends requests.
	ProbeDuration = 5 * time.Second
	// A measurement's command gets less grace than the exec step's: a
	// gate measures often and should not hang on one.
	MeasureKillGrace = time.Second
	MeasurePipeGrace = time.Second
)

// Run state, notifications and reports.
const (
	// JournalFlush is how long queued journal news (a stage started or
	// succeeded) waits while a stage runs (docs/design.md, "Run state").
	JournalFlush = 2 * time.Second
	// NotifyTimeout bounds the delivery of one message, retries included,
	// and so how long a run waits for its notifications after its end;
	// NotifyAttempt bounds one request, NotifyMaxDelay the delay between
	// attempts.
	NotifyTimeout  = 10 * time.Second
	NotifyAttempt  = 5 * time.Second
	NotifyMaxDelay = 2 * time.Second
	// ProgressEvery is how often a renderer reports a stage still running.
	ProgressEvery = 2 * time.Second
	// ReasonEvery is how often the text output says again why a stage
	// waits when only a count in its reason moved (a crash-looping pod
	// restarts about every 10 s to 5 min, a fake one every second), not
	// what it waits for: the reason is news when it changes, not when
	// its restart count does.
	ReasonEvery = 30 * time.Second
)
