package report

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/cutoverhq/cutover/events"
)

// Live is the terminal view: the stages in flight at the bottom, each with
// its elapsed time and what it waits for (its last progress message),
// redrawn in place about ten times a second; finished stages, retries and
// undo scroll above as the plain text lines; the summary at the end.
//
// The block is redrawn by moving the cursor up over it and clearing to the
// end of the screen, so its lines are cut to the terminal width: a wrapped
// line would make the cursor arithmetic wrong.
type Live struct {
	mu      sync.Mutex
	w       io.Writer
	l       *lines
	now     func() time.Time
	drawn   int // lines of the block on screen
	frame   int
	stop    chan struct{}
	done    chan struct{}
	running bool
	over    bool
	err     error
}

// redrawEvery is the refresh period of the block: fast enough that elapsed
// times tick smoothly, slow enough to cost nothing.
const redrawEvery = 100 * time.Millisecond

// NewLive returns the live view writing to w, a terminal.
func NewLive(w io.Writer, opts Options) *Live {
	return &Live{w: w, l: newLines(opts), now: opts.now}
}

// Emit renders e: lines that scroll go above the block, then the block is
// redrawn with the new state.
func (v *Live) Emit(e events.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.over {
		return
	}
	out := v.l.format(e)
	var b strings.Builder
	v.clear(&b)
	if !v.running {
		v.running = true
		b.WriteString("\x1b[?25l") // hide the cursor while the block moves
		v.stop, v.done = make(chan struct{}), make(chan struct{})
		go v.tick(v.stop, v.done)
	}
	// Starts and progress live in the block; everything else scrolls.
	if e.Type != events.StageStarted && e.Type != events.StageProgress {
		for _, ln := range out {
			b.WriteString(ln.text + "\n")
		}
	}
	if e.Type == events.RunFinished {
		for _, s := range v.l.summary() {
			b.WriteString(s + "\n")
		}
		v.end(&b)
	} else {
		v.draw(&b)
	}
	v.write(b.String())
}

func (v *Live) tick(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(redrawEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			v.mu.Lock()
			if !v.over {
				v.frame++
				var b strings.Builder
				v.clear(&b)
				v.draw(&b)
				v.write(b.String())
			}
			v.mu.Unlock()
		}
	}
}

// end stops the redraws and gives the cursor back. Called with mu held; the
// ticker goroutine sees over and exits without drawing.
func (v *Live) end(b *strings.Builder) {
	v.over = true
	if v.running {
		close(v.stop)
		b.WriteString("\x1b[?25h")
	}
}

func (v *Live) clear(b *strings.Builder) {
	if v.drawn > 0 {
		fmt.Fprintf(b, "\x1b[%dA\r\x1b[J", v.drawn)
		v.drawn = 0
	}
}

var spinner = []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

// draw writes the block: one line per stage in flight or being undone, then
// a status line.
func (v *Live) draw(b *strings.Builder) {
	m := v.l.m
	now := v.now()
	width := v.width()
	spin := string(spinner[v.frame%len(spinner)])
	done, total := 0, len(m.order)
	for _, n := range m.order {
		s := m.stages[n]
		var what string
		switch {
		case s.undo == events.StatusUndoing:
			what = "undoing"
		case s.status == events.StatusRunning:
			what = s.progress
			if what == "" {
				what = "running " + s.kind
			}
			if s.attempts > 1 {
				what += fmt.Sprintf(" (attempt %d)", s.attempts)
			}
		case s.status == events.StatusRetrying:
			what = "retrying"
			if s.retryDelay > 0 {
				what += " in " + shortDur(s.retryDelay)
			}
			what += ": " + s.err
		default:
			if s.status != events.StatusPending {
				done++
			}
			continue
		}
		el := ""
		if !s.start.IsZero() {
			el = dur(now.Sub(s.start))
		}
		text := fmt.Sprintf("  %s %-*s %7s  %s", spin, v.l.width, n, el, oneLine(what))
		v.put(b, text, width)
	}
	status := fmt.Sprintf("  %d/%d stages done", done, total)
	if !m.start.IsZero() {
		status += " · " + dur(now.Sub(m.start))
	}
	v.put(b, status, width)
}

// put writes one block line cut to the width, and counts it.
func (v *Live) put(b *strings.Builder, text string, width int) {
	if r := []rune(text); len(r) > width-1 {
		text = string(r[:max(0, width-2)]) + "…"
	}
	b.WriteString(text + "\n")
	v.drawn++
}

// width of the terminal, 80 when it cannot be asked.
func (v *Live) width() int {
	if f, ok := v.w.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 80
}

func (v *Live) write(s string) {
	if s == "" || v.err != nil {
		return
	}
	_, v.err = io.WriteString(v.w, s)
}

// Close stops the redraws if the run ended without RunFinished, leaving the
// last state on screen and the cursor visible, and returns the first write
// error.
func (v *Live) Close() error {
	v.mu.Lock()
	var done chan struct{}
	if !v.over {
		var b strings.Builder
		v.end(&b)
		v.write(b.String())
	}
	if v.running {
		done = v.done
	}
	err := v.err
	v.mu.Unlock()
	if done != nil {
		<-done
	}
	return err
}
