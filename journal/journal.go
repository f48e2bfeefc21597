// Package journal records a run durably enough that another process can
// resume it or undo it after the CI job that started it died: every
// transition, output and captured "previous" state is appended before the
// next write to the cluster.
//
// In a cluster a run's journal lives in Secrets by default
// (NewSecretStore), in ConfigMaps on request (NewConfigMapStore);
// NewClusterStore finds runs in both. Whatever is read back is checked as
// input from a stranger (type, labels, size, encoding, seqs) and refused
// with the object named, never trusted. Writes carry the resourceVersion
// last seen, so two processes writing one run (a resume racing a stuck
// job) never overwrite each other's entries: see docs/design.md.
package journal

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Entry kinds.
const (
	KindStage  = "stage"  // Status: started | succeeded | failed | skipped | cancelled
	KindRecord = "record" // Data: a step's undo record (steps.Env.Capture)
	KindUndo   = "undo"   // Status: started | succeeded | failed
	KindResult = "result" // Status: the run's result
)

// Entry is one appended fact.
type Entry struct {
	Seq     int             `json:"seq"`
	Time    time.Time       `json:"time"`
	Kind    string          `json:"kind"`
	Stage   string          `json:"stage,omitempty"`
	Status  string          `json:"status,omitempty"`
	Attempt int             `json:"attempt,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"` // record, or a succeeded stage's output
	Message string          `json:"message,omitempty"`
	// Deadline is, on the start of an attempt or of an undo, when its
	// bound ends it (none: unbounded), for `cutover status` to show.
	Deadline time.Time `json:"deadline,omitzero"`
}

// StatusRunning is a run's status (Meta.Status) from its creation until
// its result is set: such a run is never pruned, and approve, abort and
// status judge it by its lock.
const StatusRunning = "running"

// Meta describes a run.
type Meta struct {
	RunID     string    `json:"run"`
	Pipeline  string    `json:"pipeline"`
	Namespace string    `json:"namespace,omitempty"`
	Lock      string    `json:"lock,omitempty"`
	Holder    string    `json:"holder,omitempty"` // who runs it: user@host, CI job URL
	Started   time.Time `json:"started"`
	Status    string    `json:"status"` // StatusRunning, or the final result
	// Target is the target block this journal is the share of, in a
	// pipeline with targets: the run's other targets keep theirs in their
	// own clusters.
	Target string `json:"target,omitempty"`
	// Wave is the target's wave as the share evaluated it, so join judges
	// the wave by the max_failures the release ran with, not its own -var.
	Wave *Wave `json:"wave,omitempty"`
	// Vars are the non-sensitive variable values the run was started with,
	// so --resume and undo evaluate the pipeline as it was. Sensitive ones
	// are never stored; they must be given again.
	Vars map[string]string `json:"vars,omitempty"` // as HCL text: journals before values
	// Values are the same as JSON with their types (cty's JSON form), so a
	// value read back is the value given, not text parsed again.
	Values map[string]json.RawMessage `json:"values,omitempty"`
}

// Wave is a target's wave in a run's meta.
type Wave struct {
	Name        string `json:"name"`
	MaxFailures int    `json:"max_failures"`
	Parallelism int    `json:"parallelism,omitempty"`
}

// Journal is one run's journal.
type Journal interface {
	Meta() Meta
	// Append stores entries durably, in order, before it returns. Seqs
	// are given by the journal: after every entry already stored, by this
	// handle or another. An undo record that cannot be stored is an error;
	// in a cluster store, any other entry over DefaultEntryCap (the memory
	// store keeps everything) is stored with its Data
	// replaced by {"cutover_truncated":true,"bytes":N} and its Message
	// saying so, so an oversized output never blocks the journal.
	Append(ctx context.Context, entries ...Entry) error
	// Entries returns everything appended so far, in order.
	Entries(ctx context.Context) ([]Entry, error)
	// SetStatus records the run's status (running, or its result), after
	// appending entries as Append does: the end of a run is one request.
	// Only SetStatus changes the status; an Append never sets it back.
	SetStatus(ctx context.Context, status string, entries ...Entry) error
}

// Store creates and finds journals.
type Store interface {
	Create(ctx context.Context, m Meta) (Journal, error)
	Open(ctx context.Context, runID string) (Journal, error)
	// List returns the runs it knows, newest first. Meta.Vars may be
	// left out (the Secret store does): Open's Meta has them.
	List(ctx context.Context) ([]Meta, error)
	// Prune deletes the runs of pipeline beyond the keep newest finished
	// ones (keep ≥ 1; the caller picks the default, like Helm's
	// --history-max) and returns their ids. A run still "running" is never
	// deleted, nor one written to since it was listed.
	Prune(ctx context.Context, pipeline string, keep int) ([]string, error)
}

// ErrNotFound is returned by Open for an unknown run.
var ErrNotFound = errors.New("no such run")
