package callout

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxOutput is how much of a stream or a response body any caller keeps in
// an output (a step's stdout, a measurement's body): enough for any JSON a
// pipeline reads back, small enough that a chatty command, or a gate taking
// hundreds of measurements, cannot exhaust memory. What is cut is marked
// (Buffer.String) and not parsed as JSON.
const MaxOutput = 1 << 20

// TailSize is how much of the end of a stream a Buffer keeps apart from its
// capped head, so an error can quote the last lines of stderr even when the
// head is full.
const TailSize = 4 << 10

// Buffer is an io.Writer that keeps the first limit bytes and the last
// TailSize bytes of what it is given, and counts the rest: a chatty command
// or a large body cannot exhaust memory, and writing never fails (a command
// must not die of a closed pipe because cutover stopped listening).
type Buffer struct {
	limit int
	head  []byte
	tail  []byte // last TailSize bytes, only once head is full
	total int64
}

// NewBuffer keeps at most limit bytes of head.
func NewBuffer(limit int) *Buffer { return &Buffer{limit: limit} }

func (b *Buffer) Write(p []byte) (int, error) {
	n := len(p)
	b.total += int64(n)
	if room := b.limit - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	if len(p) > 0 {
		b.tail = append(b.tail, p...)
		if over := len(b.tail) - TailSize; over > 0 {
			// Shift rather than grow: the tail stays bounded however much
			// is written.
			b.tail = append(b.tail[:0], b.tail[over:]...)
		}
	}
	return n, nil
}

// Total is how many bytes were written, kept or not.
func (b *Buffer) Total() int64 { return b.total }

// Truncated reports whether more was written than kept.
func (b *Buffer) Truncated() bool { return b.total > int64(len(b.head)) }

// Bytes returns the kept head, without any marker.
func (b *Buffer) Bytes() []byte { return b.head }

// String returns the kept head as text (invalid UTF-8 replaced by U+FFFD:
// an output is a string), followed by a marker saying how much was dropped
// when the stream was longer than the cap.
func (b *Buffer) String() string {
	if !b.Truncated() {
		return Text(b.head)
	}
	head := ValidPrefix(b.head)
	return fmt.Sprintf("%s\n[cutover: output truncated at %d bytes; %d bytes dropped]\n",
		Text(head), len(head), b.total-int64(len(head)))
}

// Text is b as valid UTF-8, invalid bytes replaced by U+FFFD.
func Text(b []byte) string { return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))) }

// LastLines returns up to n trailing lines of the stream, for error
// messages.
func (b *Buffer) LastLines(n int) string {
	src := b.head
	if len(b.tail) > 0 {
		src = b.tail
	}
	lines := strings.Split(strings.TrimRight(strings.ToValidUTF8(string(src), "?"), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// ValidPrefix cuts a trailing partial UTF-8 sequence left by a cap, so the
// kept text stays valid.
func ValidPrefix(p []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(p) > 0; i++ {
		if utf8.Valid(p) {
			return p
		}
		p = p[:len(p)-1]
	}
	return p
}
