package analysis

import (
	"fmt"
	"strings"

	"github.com/cutoverhq/cutover/internal/words"
)

// Verdict is the error of a gate that did not pass. It is deliberately not
// retryable: measuring again would ask the same question of the same
// release.
type Verdict struct {
	Analysis                                 string
	Phase                                    Phase
	Successful, Failed, Inconclusive, Errors int
	Reason                                   string
}

// Error says how the gate ended as a verb ("analysis health could not
// measure: …"), not as its phase's name: the run's summary puts "Error: "
// before a failed run's error already, and "Error: stage verify: analysis
// health: Error: …" said it twice.
func (v *Verdict) Error() string {
	return fmt.Sprintf("analysis %s %s: %s (%d successful, %d failed, %d inconclusive, %s)",
		v.Analysis, endedAs(v.Phase), v.Reason, v.Successful, v.Failed, v.Inconclusive, words.Count(v.Errors, "error"))
}

// endedAs words how a gate that did not pass ended.
func endedAs(p Phase) string {
	switch p {
	case Failed:
		return "failed"
	case Inconclusive:
		return "was inconclusive"
	case Error:
		return "could not measure"
	}
	return "ended " + strings.ToLower(string(p))
}

func newVerdict(name string, s settings, t *tally) *Verdict {
	v := &Verdict{Analysis: name, Phase: t.phase, Successful: t.successful, Failed: t.failed,
		Inconclusive: t.inconclusive, Errors: t.errored}
	last := func(p Phase) *measurement {
		for i := len(t.measurements) - 1; i >= 0; i-- {
			if t.measurements[i].phase == p {
				return &t.measurements[i]
			}
		}
		return nil
	}
	switch t.phase {
	case Failed:
		v.Reason = fmt.Sprintf("%s failed, more than failure_limit %d", words.Count(t.failed, "measurement"), s.failureLimit)
		if m := last(Failed); m != nil {
			v.Reason += fmt.Sprintf("; last failed value %q", m.value)
		}
	case Inconclusive:
		v.Reason = fmt.Sprintf("%s inconclusive, more than inconclusive_limit %d", words.Count(t.inconclusive, "measurement"), s.inconclusiveLimit)
		if m := last(Inconclusive); m != nil {
			v.Reason += fmt.Sprintf("; last inconclusive value %q", m.value)
		}
	case Error:
		v.Reason = fmt.Sprintf("%d consecutive measurement errors, more than consecutive_error_limit %d", t.consecutiveErrors, s.consecutiveErrorLimit)
		if m := last(Error); m != nil {
			v.Reason += "; last error: " + m.err
		}
	}
	return v
}
