package textdiff

import "testing"

func TestUnifiedAndHunks(t *testing.T) {
	a := []byte("a: 1\nb: 2\nc: 3\n")
	b := []byte("a: 1\nb: 20\nc: 3") // no last new line: not a change
	if got, want := Unified("x", "x (formatted)", a, b), "--- x\n+++ x (formatted)\n@@ -1,3 +1,3 @@\n a: 1\n-b: 2\n+b: 20\n c: 3\n"; got != want {
		t.Errorf("Unified:\n%s\nwant:\n%s", got, want)
	}
	if got, want := Hunks(a, b), "@@ -1,3 +1,3 @@\n a: 1\n-b: 2\n+b: 20\n c: 3\n"; got != want {
		t.Errorf("Hunks:\n%s\nwant:\n%s", got, want)
	}
	if got := Hunks(a, []byte("a: 1\nb: 2\nc: 3")); got != "" {
		t.Errorf("Hunks of the same text: %q", got)
	}
}
