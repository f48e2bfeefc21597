// Package events is the stream a run emits: one Event per transition. The
// engine produces it; renderers (text lines, JSON lines, JUnit, CI
// annotations, the live terminal view) consume it. Values in events are
// already redacted.
package events

import (
	"encoding/json"
	"time"
)

// Type names a transition. The JSON output uses these strings verbatim, so
// they are part of cutover's interface: add, never rename.
type Type string

const (
	RunStarted      Type = "run_started"     // Stages lists the graph
	StageStarted    Type = "stage_started"   // an attempt begins
	StageProgress   Type = "stage_progress"  // Message says what it waits for
	StageRetrying   Type = "stage_retrying"  // Error, Delay until the next attempt
	StageSucceeded  Type = "stage_succeeded" // Output
	StageFailed     Type = "stage_failed"    // Error, after the last attempt
	StageSkipped    Type = "stage_skipped"   // Message: why (when = false, dependency failed)
	StageCancelled  Type = "stage_cancelled" // in flight when the run stopped
	UndoStarted     Type = "undo_started"    // compensation of a completed stage
	UndoSucceeded   Type = "undo_succeeded"  //
	UndoFailed      Type = "undo_failed"     // Error: left for a person
	RunFinished     Type = "run_finished"    // Result, Outputs
	DiagnosticEvent Type = "diagnostic"      // a load/validation diagnostic
)

// A run with targets releases them wave by wave (docs/design.md, "Targets
// and waves"); these say when each wave starts and ends.
const (
	WaveStarted  Type = "wave_started"  // Wave, Targets
	WaveFinished Type = "wave_finished" // Wave, Targets, Result (succeeded or failed), Error: the targets that failed
)

// UndoRun is RunStarted's Message when `cutover undo RUN` starts: the
// events that follow undo run RUN, whose journal gives each stage's Status.
const UndoRun = "undo"

// ResumeRun is RunStarted's Message when `cutover run --resume RUN` goes on
// with a run whose process died.
const ResumeRun = "resume"

// Result of a run; docs/design.md maps them to exit codes.
type Result string

const (
	Succeeded      Result = "succeeded"
	FailedUndone   Result = "failed, undone"
	Undone         Result = "undone" // `cutover undo RUN` put everything back
	FailedStopped  Result = "failed" // on_failure = "stop": nothing undone
	UndoIncomplete Result = "failed, undo incomplete"
	Interrupted    Result = "interrupted"
	// LockLost: the run's lock was lost (deleted, taken, not renewable in
	// time); it stopped writing and undid nothing. Exit 3.
	LockLost Result = "lock lost"
)

// Stage describes one stage of the graph in RunStarted.
type Stage struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	DependsOn []string `json:"depends_on,omitempty"`
	File      string   `json:"file,omitempty"`
	Line      int      `json:"line,omitempty"`
	// Status is where the stage stands in the run's journal, for an undo
	// (RunStarted's Message "undo"): succeeded, failed, cancelled, …
	Status Status `json:"status,omitempty"`
}

// Diagnostic is a load/validation problem with its source position.
type Diagnostic struct {
	Severity string `json:"severity"` // "error" | "warning"
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	EndLine  int    `json:"end_line,omitempty"`
	EndCol   int    `json:"end_column,omitempty"`
}

// Event is one transition.
type Event struct {
	Type     Type            `json:"type"`
	Time     time.Time       `json:"time"`
	RunID    string          `json:"run,omitempty"`
	Pipeline string          `json:"pipeline,omitempty"`
	Stage    string          `json:"stage,omitempty"`
	Kind     string          `json:"kind,omitempty"`    // step kind of the stage
	Attempt  int             `json:"attempt,omitempty"` // 1-based
	Elapsed  time.Duration   `json:"-"`                 // since the stage (or run) started
	Message  string          `json:"message,omitempty"`
	Error    string          `json:"error,omitempty"`
	Delay    time.Duration   `json:"-"` // StageRetrying: wait before next attempt
	Output   json.RawMessage `json:"output,omitempty"`
	File     string          `json:"file,omitempty"` // the stage's block, for annotations
	Line     int             `json:"line,omitempty"`

	Wave        string          `json:"wave,omitempty"`    // WaveStarted, WaveFinished
	Targets     []string        `json:"targets,omitempty"` // WaveStarted, WaveFinished: the wave's targets
	Stages      []Stage         `json:"stages,omitempty"`  // RunStarted
	Result      Result          `json:"result,omitempty"`  // RunFinished
	Outputs     json.RawMessage `json:"outputs,omitempty"` // RunFinished: pipeline outputs
	Diagnostic  *Diagnostic     `json:"diagnostic,omitempty"`
	UndoPending []string        `json:"undo_pending,omitempty"` // RunFinished: what is left for a person
	// Undo, on RunFinished: UndoNothing when the result names an undo
	// (failed, undone; interrupted) that had nothing to do (Ending).
	Undo string `json:"undo,omitempty"`
	// DryRun, on RunStarted and RunFinished: a --dry-run=server run,
	// which wrote nothing; its outputs come from dry-run values.
	DryRun bool `json:"dry_run,omitempty"`
}

// MarshalJSON writes durations as seconds (float), which every consumer of a
// JSON line can read without parsing Go duration strings.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		plain
		ElapsedSeconds float64 `json:"elapsed_seconds,omitempty"`
		DelaySeconds   float64 `json:"delay_seconds,omitempty"`
	}{plain(e), e.Elapsed.Seconds(), e.Delay.Seconds()})
}

// Sink receives events in order. Emit must not block for long: the engine
// calls it from the goroutine that made the transition.
type Sink interface {
	Emit(Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event)

// Emit calls f.
func (f SinkFunc) Emit(e Event) { f(e) }

// Multi fans an event out to several sinks, in order.
type Multi []Sink

// Emit sends e to every sink.
func (m Multi) Emit(e Event) {
	for _, s := range m {
		s.Emit(e)
	}
}
