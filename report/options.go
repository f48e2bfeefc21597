package report

import (
	"errors"
	"time"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/defaults"
)

// Options tune the renderers. The zero value prints plain text.
type Options struct {
	// Format is "text" (default) or "json" (ForEnvironment).
	Format string
	// Secrets are the sensitive values of the run (sensitive variables and
	// whatever the engine marks so). They are masked in every output and,
	// on GitHub, registered with ::add-mask:: before anything else is printed.
	Secrets []string
	// Color turns ANSI colors on in text output. ForEnvironment sets it for a
	// terminal when NO_COLOR is unset; CI logs stay plain.
	Color bool
	// ProgressEvery is the least time between two progress lines of a stage
	// that only differ in their numbers (default 2s). A message that says
	// something new is printed at once.
	ProgressEvery time.Duration
	// ReasonEvery is the least time between two progress lines of a stage
	// that differ only in the numbers of why it waits, not of what it
	// waits for: a crash-looping pod's restarts (default 30s).
	ReasonEvery time.Duration
	// JUnit and Summary are paths for the JUnit XML and the markdown report
	// (--junit, --summary); ForEnvironment adds those sinks when set.
	JUnit   string
	Summary string
	// Dotenv is where the GitLab renderer writes the run's outputs
	// (default: $CUTOVER_DOTENV; nothing when both are empty).
	Dotenv string
	// Now is the clock of the live view (tests); default time.Now.
	Now func() time.Time
}

func (o Options) progressEvery() time.Duration {
	if o.ProgressEvery > 0 {
		return o.ProgressEvery
	}
	return defaults.ProgressEvery
}

func (o Options) reasonEvery() time.Duration {
	if o.ReasonEvery > 0 {
		return o.ReasonEvery
	}
	return defaults.ReasonEvery
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Close ends a sink: it flushes what it writes at the end (files, the live
// view's last frame) and returns the first write error. It looks through
// events.Multi and Redact; sinks without an end are left alone.
func Close(s events.Sink) error {
	switch x := s.(type) {
	case events.Multi:
		var errs []error
		for _, c := range x {
			errs = append(errs, Close(c))
		}
		return errors.Join(errs...)
	case interface{ Close() error }:
		return x.Close()
	case interface{ Unwrap() events.Sink }:
		return Close(x.Unwrap())
	}
	return nil
}
