// Package journal records a run durably enough that another process can
// resume it or undo it after the CI job that started it died: every
// transition, output and captured "previous" state is appended before the
// next write to the cluster.
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
}

// Meta describes a run.
type Meta struct {
	RunID     string    `json:"run"`
	Pipeline  string    `json:"pipeline"`
	Namespace string    `json:"namespace,omitempty"`
	Lock      string    `json:"lock,omitempty"`
	Holder    string    `json:"holder,omitempty"` // who runs it: user@host, CI job URL
	Started   time.Time `json:"started"`
	Status    string    `json:"status"` // running, or the final result
	// Vars are the non-sensitive variable values the run was started with,
	// so --resume and undo evaluate the pipeline as it was. Sensitive ones
	// are never stored; they must be given again.
	Vars map[string]string `json:"vars,omitempty"`
}

// Journal is one run's journal.
type Journal interface {
	Meta() Meta
	// Append stores entries durably, in order, before it returns.
	Append(ctx context.Context, entries ...Entry) error
	// Entries returns everything appended so far, in order.
	Entries(ctx context.Context) ([]Entry, error)
	// SetStatus records the run's status (running, or its result), after
	// appending entries as Append does: the end of a run is one request.
	SetStatus(ctx context.Context, status string, entries ...Entry) error
}

// Store creates and finds journals.
type Store interface {
	Create(ctx context.Context, m Meta) (Journal, error)
	Open(ctx context.Context, runID string) (Journal, error)
	// List returns the runs it knows, newest first.
	List(ctx context.Context) ([]Meta, error)
}

// ErrNotFound is returned by Open for an unknown run.
var ErrNotFound = errors.New("no such run")
