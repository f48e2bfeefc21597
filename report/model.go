package report

import (
	"encoding/json"
	"time"

	"github.com/cutoverhq/cutover/events"
)

// stage is the picture of one stage, folded from its events.
type stage struct {
	name, kind string
	dependsOn  []string
	file       string
	line       int

	status     events.Status
	attempts   int
	start, end time.Time
	elapsed    time.Duration // Elapsed of the last stage event, when times are missing
	err        string        // last error (retry or final)
	reason     string        // skip/cancel reason
	progress   string        // last progress message of the current attempt
	retryDelay time.Duration
	retries    []string // "attempt N: error" of every failed attempt but the last

	undo       events.Status // "" until an undo starts
	undoErr    string
	undoMsg    string // UndoStarted.Message: what the undo restores, when the engine says
	undoDur    time.Duration
	undoStart  time.Time
	undoEvents int
}

// duration is how long the stage ran, first attempt to its end.
func (s *stage) duration() time.Duration {
	if !s.start.IsZero() && !s.end.IsZero() {
		return s.end.Sub(s.start)
	}
	return s.elapsed
}

// outputsTitle heads the outputs in a summary: a dry run's are computed
// from what its steps' dry runs returned (a revision that was not made), and
// say so.
func (m *model) outputsTitle() string {
	if m.dryRun {
		return "Outputs (dry run: from values the dry run returned, nothing was released)"
	}
	return "Outputs"
}

// model is the picture of a run that every summary is drawn from. It only
// ever grows from events, so renderers can share its logic and still differ
// in what they print.
type model struct {
	id, pipeline string
	start, end   time.Time
	elapsed      time.Duration
	finished     bool
	result       events.Result
	err          string // RunFinished.Error: why the run stopped, beyond stage errors
	note         string // RunFinished.Message: what the result leaves out (targets failed within max_failures)
	outputs      json.RawMessage
	undoPending  []string
	ending       events.Ending // how the run's end is told
	dryRun       bool          // RunStarted.DryRun: nothing written, outputs from dry-run values
	order        []string
	stages       map[string]*stage
	diags        []events.Diagnostic
}

func newModel() *model { return &model{stages: map[string]*stage{}} }

// stage returns the named stage, adding it in first-seen order when the
// RunStarted graph did not list it (a sink attached late, or a test).
func (m *model) stage(name string) *stage {
	s, ok := m.stages[name]
	if !ok {
		s = &stage{name: name, status: events.StatusPending}
		m.stages[name] = s
		m.order = append(m.order, name)
	}
	return s
}

// clock is the time of e since the run started: the left column of the text
// output. Event times are wall-clock; Elapsed is the fallback for producers
// that leave Time zero.
func (m *model) clock(e events.Event) time.Duration {
	if !m.start.IsZero() && !e.Time.IsZero() {
		if d := e.Time.Sub(m.start); d > 0 {
			return d
		}
		return 0
	}
	return e.Elapsed
}

// apply folds e into the model.
func (m *model) apply(e events.Event) {
	m.ending.Add(e)
	if e.RunID != "" {
		m.id = e.RunID
	}
	if e.Pipeline != "" {
		m.pipeline = e.Pipeline
	}
	switch e.Type {
	case events.RunStarted:
		m.start, m.dryRun = e.Time, e.DryRun
		for _, st := range e.Stages {
			s := m.stage(st.Name)
			s.kind, s.dependsOn, s.file, s.line = st.Kind, st.DependsOn, st.File, st.Line
			switch st.Status {
			case "", events.StatusRunning:
			case events.StatusUndone:
				// An undo's list: undone by an earlier undo of the run.
				s.undo = events.StatusUndone
			default:
				s.status = st.Status
			}
		}
		return
	case events.RunFinished:
		m.finished, m.result, m.outputs, m.undoPending = true, e.Result, e.Outputs, e.UndoPending
		m.end, m.elapsed, m.err, m.note = e.Time, e.Elapsed, e.Error, e.Message
		m.dryRun = m.dryRun || e.DryRun
		return
	case events.DiagnosticEvent:
		if e.Diagnostic != nil {
			m.diags = append(m.diags, *e.Diagnostic)
		}
		return
	}
	if e.Stage == "" {
		return
	}
	s := m.stage(e.Stage)
	if e.Kind != "" {
		s.kind = e.Kind
	}
	if e.File != "" {
		s.file, s.line = e.File, e.Line
	}
	switch e.Type {
	case events.StageStarted:
		if s.start.IsZero() {
			s.start = e.Time
		}
		s.status, s.progress = events.StatusRunning, ""
		if e.Attempt > s.attempts {
			s.attempts = e.Attempt
		} else if e.Attempt == 0 {
			s.attempts++
		}
	case events.StageProgress:
		s.progress = e.Message
	case events.StageRetrying:
		s.status, s.err, s.retryDelay = events.StatusRetrying, e.Error, e.Delay
		s.retries = append(s.retries, attemptNote(e.Attempt, s.attempts, e.Error))
	case events.StageSucceeded:
		s.finish(e, events.StatusSucceeded)
		s.err = ""
	case events.StageFailed:
		s.finish(e, events.StatusFailed)
		s.err = e.Error
	case events.StageSkipped:
		s.finish(e, events.StatusSkipped)
		s.reason = e.Message
	case events.StageCancelled:
		s.finish(e, events.StatusCancelled)
		s.reason = e.Message
	case events.UndoStarted:
		s.undo, s.undoStart, s.undoMsg = events.StatusUndoing, e.Time, e.Message
	case events.UndoSucceeded:
		s.undo, s.undoDur = events.StatusUndone, undoDuration(s, e)
	case events.UndoFailed:
		s.undo, s.undoErr, s.undoDur = events.StatusUndoFailed, e.Error, undoDuration(s, e)
	}
}

func (s *stage) finish(e events.Event, st events.Status) {
	s.status, s.end, s.elapsed = st, e.Time, e.Elapsed
	if e.Attempt > s.attempts {
		s.attempts = e.Attempt
	}
}

func undoDuration(s *stage, e events.Event) time.Duration {
	if !s.undoStart.IsZero() && !e.Time.IsZero() {
		return e.Time.Sub(s.undoStart)
	}
	return e.Elapsed
}

func attemptNote(attempt, seen int, err string) string {
	if attempt == 0 {
		attempt = seen
	}
	return "attempt " + itoa(attempt) + ": " + err
}

// failedStages lists the stages that failed, in graph order.
func (m *model) failedStages() []*stage {
	var out []*stage
	for _, n := range m.order {
		if s := m.stages[n]; s.status == events.StatusFailed {
			out = append(out, s)
		}
	}
	return out
}

// runDuration is the run's wall time so far (or in total once finished).
func (m *model) runDuration() time.Duration {
	if !m.start.IsZero() && !m.end.IsZero() {
		return m.end.Sub(m.start)
	}
	return m.elapsed
}
