package report

import (
	"encoding/json"
	"io"
	"sync"

	"github.com/cutoverhq/cutover/events"
)

// JSON writes every event as one line of JSON (events.Event's encoding, with
// elapsed_seconds and delay_seconds), for tools that follow a run. The
// format is documented in docs/events.md.
type JSON struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

// NewJSON returns a JSON-lines renderer writing to w. Wrap it with Redact to
// mask secrets.
func NewJSON(w io.Writer) *JSON {
	enc := json.NewEncoder(w)
	// Messages are read by people too: keep "<" and "&" as they are.
	enc.SetEscapeHTML(false)
	return &JSON{enc: enc}
}

// Emit writes e as one line.
func (j *JSON) Emit(e events.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = j.enc.Encode(e)
	}
}

// Close returns the first write error.
func (j *JSON) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}
