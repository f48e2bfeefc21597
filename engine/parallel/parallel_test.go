package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCallsEachOnce(t *testing.T) {
	const n = 1000
	var calls [n]atomic.Int32
	if !For(n, func(i int) bool { calls[i].Add(1); return true }) {
		t.Fatal("For returned false though every call returned true")
	}
	for i := range calls {
		if c := calls[i].Load(); c != 1 {
			t.Fatalf("f(%d) called %d times; want 1", i, c)
		}
	}
	if !For(0, func(int) bool { t.Fatal("called for n = 0"); return true }) {
		t.Fatal("For(0) returned false")
	}
}

func TestForStops(t *testing.T) {
	var calls atomic.Int32
	if For(100000, func(i int) bool { calls.Add(1); return i != 10 }) {
		t.Fatal("For returned true though a call returned false")
	}
	if c := calls.Load(); c == 100000 {
		t.Fatal("every call was made after one returned false")
	}
}
