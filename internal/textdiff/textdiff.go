// Package textdiff shows the change between two texts as `diff -u` prints
// it: cutover fmt -diff for a file, plan --dry-run=server for an object
// (its YAML before and after).
package textdiff

import (
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// Unified is the change from a to b with its header naming them from and
// to; "" when they are the same.
func Unified(from, to string, a, b []byte) string {
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(a), B: lines(b), FromFile: from, ToFile: to, Context: 3,
	})
	return d
}

// Hunks is the change from a to b without the header, for a change whose
// subject is named otherwise: its "@@" lines and what they hold.
func Hunks(a, b []byte) string {
	d := Unified("a", "b", a, b)
	for range 2 { // --- a, +++ b
		_, d, _ = strings.Cut(d, "\n")
	}
	return d
}

// lines splits text after each new line; a last line without one gets it,
// so that the diff does not show a change of the text's ending alone.
func lines(text []byte) []string {
	out := strings.SplitAfter(string(text), "\n")
	if out[len(out)-1] == "" {
		return out[:len(out)-1]
	}
	out[len(out)-1] += "\n"
	return out
}
