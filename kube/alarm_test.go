package kube

import (
	"testing"
	"time"
)

// The alarm pokes at the earliest moment it was set for: a later one set
// after does not put it off, an earlier one brings it forward, and a past
// one sets nothing.
func TestAlarmPokesAtTheEarliestMoment(t *testing.T) {
	fired := func(al *alarm, within time.Duration) bool {
		select {
		case <-al.c:
			return true
		case <-time.After(within):
			return false
		}
	}
	for _, c := range []struct {
		name string
		set  []time.Duration
	}{
		{"later after earlier", []time.Duration{20 * time.Millisecond, time.Hour}},
		{"earlier after later", []time.Duration{time.Hour, 20 * time.Millisecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			al := newAlarm()
			defer al.stop()
			for _, d := range c.set {
				al.at(time.Now().Add(d))
			}
			if !fired(al, 10*time.Second) {
				t.Fatal("no poke within 10s of a 20ms alarm")
			}
		})
	}
	al := newAlarm()
	defer al.stop()
	al.at(time.Now().Add(-time.Second))
	al.at(time.Time{})
	if al.timer != nil {
		t.Error("a past or zero moment set the timer")
	}
	// Stopped, it does not poke.
	al.at(time.Now().Add(20 * time.Millisecond))
	al.stop()
	if fired(al, 200*time.Millisecond) {
		t.Error("a stopped alarm poked")
	}
}
