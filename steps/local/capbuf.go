package local

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxOutput caps what a step keeps of a command's stream or a response body:
// enough for any JSON a pipeline reads back, small enough that a chatty
// command cannot exhaust memory.
const maxOutput = 1 << 20

// tailSize is how much of the end of a stream is kept apart from the capped
// head, so an error can quote the last lines of stderr even when the head
// is full.
const tailSize = 4 << 10

// capBuffer is an io.Writer that keeps the first limit bytes and the last
// tailSize bytes of what it is given, and counts the rest.
type capBuffer struct {
	limit int
	head  []byte
	tail  []byte // last tailSize bytes, only once head is full
	total int64
}

func newCapBuffer(limit int) *capBuffer { return &capBuffer{limit: limit} }

func (b *capBuffer) Write(p []byte) (int, error) {
	n := len(p)
	b.total += int64(n)
	if room := b.limit - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	if len(p) > 0 {
		b.tail = append(b.tail, p...)
		if over := len(b.tail) - tailSize; over > 0 {
			// Shift rather than grow: the tail stays bounded however much
			// the command writes.
			b.tail = append(b.tail[:0], b.tail[over:]...)
		}
	}
	return n, nil
}

// Truncated reports whether more was written than kept.
func (b *capBuffer) Truncated() bool { return b.total > int64(len(b.head)) }

// Bytes returns the kept head, without any marker.
func (b *capBuffer) Bytes() []byte { return b.head }

// String returns the kept head, followed by a marker saying how much was
// dropped when the stream was longer than the cap.
func (b *capBuffer) String() string {
	if !b.Truncated() {
		return string(b.head)
	}
	head := validPrefix(b.head)
	return fmt.Sprintf("%s\n[cutover: output truncated at %d bytes; %d bytes dropped]\n",
		head, len(head), b.total-int64(len(head)))
}

// LastLines returns up to n trailing non-empty lines of the stream, for
// error messages.
func (b *capBuffer) LastLines(n int) string {
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

// validPrefix cuts a trailing partial UTF-8 sequence left by the cap, so the
// kept text stays valid.
func validPrefix(p []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(p) > 0; i++ {
		if utf8.Valid(p) {
			return p
		}
		p = p[:len(p)-1]
	}
	return p
}
