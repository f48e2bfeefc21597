package gcpace

import (
	"math"
	"runtime/debug"
	"testing"
)

// settings reads the GC percent and the memory limit.
func settings() (int, int64) {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p, debug.SetMemoryLimit(-1)
}

func TestPace(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))

	a := Start(1 << 20)
	if p, l := settings(); p != -1 || l != ParseBound(1<<20) {
		t.Fatalf("parsing: GC percent %d, limit %d; want off up to %d", p, l, ParseBound(1<<20))
	}
	b := Start(10 << 20) // a second load at once: the bounds add up
	if p, l := settings(); p != -1 || l != ParseBound(1<<20)+ParseBound(10<<20) {
		t.Fatalf("two parsing: GC percent %d, limit %d; want off up to %d", p, l, ParseBound(1<<20)+ParseBound(10<<20))
	}
	a.Parsed()
	if p, l := settings(); p != -1 || l != ParseBound(10<<20) {
		t.Errorf("one still parsing: GC percent %d, limit %d; want off up to %d", p, l, ParseBound(10<<20))
	}
	b.Parsed()
	if p, l := settings(); p != preparePercent || l != math.MaxInt64 {
		t.Errorf("preparing: GC percent %d, limit %d; want %d, no limit", p, l, preparePercent)
	}
	a.Done()
	a.Done() // twice is once
	if p, _ := settings(); p != preparePercent {
		t.Errorf("one load still preparing: GC percent %d; want %d", p, preparePercent)
	}
	b.Done()
	if p, l := settings(); p != 100 || l != math.MaxInt64 {
		t.Errorf("after: GC percent %d, limit %d; want 100 and none, as they were", p, l)
	}
	if ParseBound(100<<20) <= 2*40*(100<<20) {
		t.Errorf("ParseBound(100 MiB) = %d: not twice the tree such a file keeps", ParseBound(100<<20))
	}
}

func TestPaceLeavesTheProcessSettings(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	debug.SetGCPercent(20) // lower than preparing's
	pc := Start(1 << 20)
	pc.Parsed()
	if p, _ := settings(); p != 20 {
		t.Errorf("preparing under GC percent 20: %d; want 20", p)
	}
	pc.Done()
	debug.SetGCPercent(-1) // collection off
	pc = Start(1 << 20)
	if p, l := settings(); p != -1 || l != math.MaxInt64 {
		t.Errorf("collection off: GC percent %d, limit %d while parsing; want off, no limit", p, l)
	}
	pc.Done()
	debug.SetGCPercent(100)
	t.Setenv("GOGC", "150") // the user's own tuning (the runtime read it at start)
	pc = Start(1 << 20)
	if p, _ := settings(); p != 100 {
		t.Errorf("with GOGC set: GC percent %d while parsing; want 100, untouched", p)
	}
	pc.Parsed()
	pc.Done()
}
