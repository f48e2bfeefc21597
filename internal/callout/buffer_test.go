package callout

import (
	"strings"
	"testing"
)

func TestBufferKeepsHeadAndTail(t *testing.T) {
	b := NewBuffer(10)
	b.Write([]byte("0123456789abc"))
	b.Write([]byte(strings.Repeat("x", TailSize) + "\nlast line\n"))
	if string(b.Bytes()) != "0123456789" || !b.Truncated() {
		t.Errorf("head %q, truncated %v", b.Bytes(), b.Truncated())
	}
	if want := int64(13 + TailSize + 11); b.Total() != want {
		t.Errorf("total = %d, want %d", b.Total(), want)
	}
	if got := b.LastLines(1); got != "last line" {
		t.Errorf("LastLines = %q; the tail past the head must be kept", got)
	}
	if s := b.String(); !strings.HasPrefix(s, "0123456789\n") || !strings.Contains(s, "truncated at 10 bytes") {
		t.Errorf("String = %q", s)
	}
}

func TestBufferUnderLimit(t *testing.T) {
	b := NewBuffer(100)
	b.Write([]byte("ok\n"))
	if b.Truncated() || b.String() != "ok\n" {
		t.Errorf("String = %q, truncated %v", b.String(), b.Truncated())
	}
}

// TestBufferCutsPartialRune: the cap may fall inside a UTF-8 sequence; the
// text shown stays valid.
func TestBufferCutsPartialRune(t *testing.T) {
	b := NewBuffer(4)
	b.Write([]byte("abcé!")) // é is two bytes: the fourth byte is half of it
	if s := b.String(); !strings.HasPrefix(s, "abc\n") {
		t.Errorf("String = %q", s)
	}
}
