package loadgen

import (
	"testing"
	"time"
)

func TestSettledOn(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &aggregate{}
	a.init(start)
	ok := func(at time.Duration, v string) { a.add(outcome{at: start.Add(at), version: v}) }
	for i := 0; i < 10; i++ {
		ok(time.Duration(i)*time.Second+100*time.Millisecond, "v1")
	}
	ok(3500*time.Millisecond, "v2")
	ok(5200*time.Millisecond, "v2") // the last v2 answer
	a.add(outcome{at: start.Add(4 * time.Second), kind: "reset"})
	a.ended = start.Add(10 * time.Second)
	s := a.summary()

	got, settled := s.SettledOn("v1", start.Add(4500*time.Millisecond))
	if !settled || got.LastVersion != "v2" || got.Last != 0.7 || got.Second != 6 || got.After != 1.5 {
		t.Errorf("SettledOn(v1, 4.5s) = %+v, %v; want last v2 0.7s after, only v1 from t=6s, 1.5s after", got, settled)
	}
	got, settled = s.SettledOn("v1", start.Add(8*time.Second))
	if !settled || got.LastVersion != "" || got.Second != 8 || got.After != 0 {
		t.Errorf("SettledOn(v1, 8s) = %+v, %v; want no other version after, only v1 in its own second (t=8s)", got, settled)
	}
	if _, settled := s.SettledOn("v2", start); settled {
		t.Errorf("SettledOn(v2) settled; v1 answered last")
	}
}
