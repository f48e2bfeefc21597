package report

import (
	"io"
	"strings"
	"sync"

	"github.com/cutoverhq/cutover/events"
)

// Text prints one aligned line per transition and a summary at the end. It
// is the output of a plain log: pipes, files, CI systems cutover does not
// decorate.
type Text struct {
	mu  sync.Mutex
	w   io.Writer
	l   *lines
	err error
}

// NewText returns a text renderer writing to w.
func NewText(w io.Writer, opts Options) *Text {
	return &Text{w: w, l: newLines(opts)}
}

// Emit prints the lines of e.
func (t *Text) Emit(e events.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, ln := range t.l.format(e) {
		b.WriteString(ln.text + "\n")
	}
	if e.Type == events.RunFinished {
		for _, s := range t.l.summary() {
			b.WriteString(s + "\n")
		}
	}
	t.write(b.String())
}

func (t *Text) write(s string) {
	if s == "" || t.err != nil {
		return
	}
	_, t.err = io.WriteString(t.w, s)
}

// Close returns the first write error.
func (t *Text) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}
