package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cutoverhq/cutover/events"
)

func itoa(i int) string { return strconv.Itoa(i) }

// dur formats a duration the way the left column shows it: tenths of a second
// below a minute (the scale a stage usually runs at), then minutes.
func dur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		m := int(d / time.Minute)
		return fmt.Sprintf("%dm%04.1fs", m, (d - time.Duration(m)*time.Minute).Seconds())
	default:
		d = d.Round(time.Second)
		h := int(d / time.Hour)
		m := int((d - time.Duration(h)*time.Hour) / time.Minute)
		s := int((d - time.Duration(h)*time.Hour - time.Duration(m)*time.Minute) / time.Second)
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	}
}

// shortDur formats a retry delay: "2s", "1.5s", "1m30s".
func shortDur(d time.Duration) string {
	if d%time.Second == 0 || d > time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// oneLine keeps multi-line errors on the line they belong to: CI log
// viewers and the alignment of the text output both assume one event, one
// line. Newlines become " | ".
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, " | ")
}

// shape is a progress message with its numbers blanked. Two messages with
// the same shape say the same thing about a different count ("ready 3/10",
// "ready 4/10"), so they are rate limited; a different shape is a new phase
// and is always printed. A word with digits is a number when its only
// letters are a duration's units ("40s", "1m5s", "0/3", "12:05:03"), and
// a name otherwise ("demo-2", "web-5d9f8-x2k4q", "v3"): a message about
// another pod has another shape.
func shape(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		if isNumber(w) {
			words[i] = "#"
		}
	}
	return strings.Join(words, " ")
}

func isNumber(w string) bool {
	digits := false
	for _, r := range w {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case unicode.IsLetter(r) && !strings.ContainsRune("hmsnuµ", r):
			return false
		}
	}
	return digits
}

// ANSI styles used when colors are on.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

func paint(on bool, style, s string) string {
	if !on || style == "" {
		return s
	}
	return style + s + ansiReset
}

// styleOf is the color of a stage's status.
func styleOf(s events.Status) string {
	switch s {
	case events.StatusSucceeded, events.StatusUndone:
		return ansiGreen
	case events.StatusFailed, events.StatusUndoFailed:
		return ansiRed
	case events.StatusSkipped, events.StatusCancelled, events.StatusRetrying:
		return ansiYellow
	}
	return ""
}

// resultStyle is the color of a run's result.
func resultStyle(r events.Result) string {
	switch r {
	case events.Succeeded, events.Undone:
		return ansiGreen
	case events.FailedUndone, events.FailedStopped, events.UndoIncomplete, events.Interrupted:
		return ansiRed
	}
	return ""
}
