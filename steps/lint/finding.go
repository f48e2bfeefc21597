package lint

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Severities of a Finding.
const (
	SevError   = "error"
	SevWarning = "warning"
)

// Finding is one problem at one place in a manifest.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line"` // 1-based; 0 when unknown
	Col      int    `json:"col"`  // 1-based; 0 when unknown
	Rule     string `json:"rule"`
	Severity string `json:"severity"` // SevError or SevWarning
	Object   string `json:"object"`   // Kind/name, "" when the finding is about no object
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
}

// Pos is "file:line:col", leaving out what is unknown.
func (f Finding) Pos() string {
	switch {
	case f.Line <= 0:
		return f.File
	case f.Col <= 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Col)
}

// String is the diagnostic line "file:line:col: severity: message [rule]".
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s [%s]", f.Pos(), f.Severity, f.Message, f.Rule)
}

// Format writes one diagnostic line per finding, each followed by an
// indented hint line when the finding has a hint.
func Format(w io.Writer, findings []Finding) error {
	for _, f := range findings {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
		if f.Hint != "" {
			if _, err := fmt.Fprintf(w, "    hint: %s\n", f.Hint); err != nil {
				return err
			}
		}
	}
	return nil
}

// Count returns how many findings are errors and how many warnings.
func Count(findings []Finding) (errors, warnings int) {
	for _, f := range findings {
		if f.Severity == SevError {
			errors++
		} else {
			warnings++
		}
	}
	return errors, warnings
}

// Summary is "2 errors, 1 warning" (or "no findings").
func Summary(findings []Finding) string {
	e, w := Count(findings)
	if e == 0 && w == 0 {
		return "no findings"
	}
	return plural(e, "error") + ", " + plural(w, "warning")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// AtLeast returns the findings whose severity is sev or worse; sev is
// SevError, SevWarning, or "never" (nothing qualifies).
func AtLeast(findings []Finding, sev string) []Finding {
	var out []Finding
	for _, f := range findings {
		if rank(f.Severity) >= rank(sev) && rank(sev) > 0 {
			out = append(out, f)
		}
	}
	return out
}

func rank(sev string) int {
	switch sev {
	case SevError:
		return 2
	case SevWarning:
		return 1
	}
	return 0
}

// sortFindings orders by the files' order of appearance, then position, so
// output follows the manifests top to bottom whatever order rules ran in.
func sortFindings(fs []Finding, fileOrder map[string]int) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return fileOrder[a.File] < fileOrder[b.File]
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return strings.Compare(a.Rule, b.Rule) < 0
	})
}
