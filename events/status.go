package events

// Status is where a stage stands: the one vocabulary the engine keeps
// (engine.StageRun, `stage.NAME.status` in expressions), the renderers show
// and the journal's stage entries record. Which event and journal entry
// move a stage into which status is the engine's transition table
// (docs/design.md, "Run state").
type Status string

const (
	StatusPending    Status = "pending" // not started (yet, or ever: the run stopped first)
	StatusRunning    Status = "running"
	StatusRetrying   Status = "retrying" // between attempts, as the renderers show it
	StatusSucceeded  Status = "succeeded"
	StatusFailed     Status = "failed"
	StatusSkipped    Status = "skipped" // when = false
	StatusCancelled  Status = "cancelled"
	StatusNotRun     Status = "not run" // a dependency did not succeed, or the run stopped first
	StatusUndoing    Status = "undoing"
	StatusUndone     Status = "undone"
	StatusUndoFailed Status = "undo failed"
	// StatusLeftAsIs: undo found objects changed since the run wrote them
	// and left them alone (steps.DriftError).
	StatusLeftAsIs Status = "left as is"
)
