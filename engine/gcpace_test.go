package engine

import (
	"runtime/debug"
	"testing"
)

// gcPercent reads the GC percent.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestLowerGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	first := lowerGC()
	second := lowerGC() // two Prepares at once
	if p := gcPercent(); p != prepareGCPercent {
		t.Fatalf("GC percent while preparing: %d; want %d", p, prepareGCPercent)
	}
	first()
	if p := gcPercent(); p != prepareGCPercent {
		t.Errorf("GC percent while one Prepare still runs: %d; want %d", p, prepareGCPercent)
	}
	second()
	if p := gcPercent(); p != 100 {
		t.Errorf("GC percent after: %d; want 100, as it was", p)
	}
	for _, was := range []int{-1, 20} { // off, or lower than ours
		debug.SetGCPercent(was)
		restore := lowerGC()
		if p := gcPercent(); p != was {
			t.Errorf("GC percent %d while preparing; want %d, as the process set it", p, was)
		}
		restore()
	}
}
