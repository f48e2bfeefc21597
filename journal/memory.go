package journal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// NewRunID returns a short, time-sortable, DNS-label-safe run id: the UTC
// second it was made, then 32 random bits so two runs started in the same
// second (a CI matrix) do not collide.
func NewRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s", time.Now().UTC().Format("20060102-150405"), hex.EncodeToString(b[:]))
}

// NewMemoryStore keeps journals in the process: for runs without a
// cluster, and tests. Nothing survives the process.
func NewMemoryStore() Store { return &memStore{runs: map[string]*memJournal{}} }

type memStore struct {
	mu   sync.Mutex
	runs map[string]*memJournal
}

func (s *memStore) Create(_ context.Context, m Meta) (Journal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.RunID == "" {
		m.RunID = NewRunID()
	}
	if m.Started.IsZero() {
		m.Started = time.Now()
	}
	if _, dup := s.runs[m.RunID]; dup {
		return nil, fmt.Errorf("run %s exists already", m.RunID)
	}
	j := &memJournal{meta: m}
	s.runs[m.RunID] = j
	return j, nil
}

func (s *memStore) Open(_ context.Context, id string) (Journal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.runs[id]
	if !ok {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	return j, nil
}

func (s *memStore) List(ctx context.Context) ([]Meta, error) {
	return metas(s.stored(ctx))
}

func (s *memStore) Prune(ctx context.Context, pipeline string, keep int) ([]string, error) {
	return prune(ctx, pipeline, keep, s.stored)
}

func (s *memStore) stored(context.Context) ([]storedRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]storedRun, 0, len(s.runs))
	for id, j := range s.runs {
		out = append(out, storedRun{meta: j.Meta(), remove: func(context.Context) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			if st := j.Meta().Status; st == StatusRunning || st == "" {
				return errChanged
			}
			if s.runs[id] == j {
				delete(s.runs, id)
			}
			return nil
		}})
	}
	return out, nil
}

type memJournal struct {
	mu      sync.Mutex
	meta    Meta
	entries []Entry
}

func (j *memJournal) Meta() Meta {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.meta
}

func (j *memJournal) Append(_ context.Context, entries ...Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, e := range entries {
		e.Seq = len(j.entries) + 1
		j.entries = append(j.entries, e)
	}
	return nil
}

func (j *memJournal) Entries(context.Context) ([]Entry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Entry(nil), j.entries...), nil
}

func (j *memJournal) SetStatus(ctx context.Context, status string, entries ...Entry) error {
	_ = j.Append(ctx, entries...)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.meta.Status = status
	return nil
}
