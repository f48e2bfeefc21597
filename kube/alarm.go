package kube

import (
	"sync"
	"time"
)

// alarm pokes a wait to judge its last state again (a value on c,
// coalesced): when something its condition reads besides the object
// changed, or at a moment when the verdict changes with time alone (a
// pod slow to get ready, a progress deadline passing), as no event comes
// then.
type alarm struct {
	c     chan struct{}
	mu    sync.Mutex
	timer *time.Timer
	wake  time.Time // when timer fires
}

func newAlarm() *alarm { return &alarm{c: make(chan struct{}, 1)} }

func (a *alarm) poke() {
	select {
	case a.c <- struct{}{}:
	default:
	}
}

// at pokes at t, unless an earlier moment is pending; a zero or past t
// sets nothing.
func (a *alarm) at(t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if !t.After(now) || (!a.wake.IsZero() && now.Before(a.wake) && !t.Before(a.wake)) {
		return
	}
	a.wake = t
	if a.timer == nil {
		a.timer = time.AfterFunc(t.Sub(now), a.poke)
	} else {
		a.timer.Reset(t.Sub(now))
	}
}

// stop ends the pending poke, if any.
func (a *alarm) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timer != nil {
		a.timer.Stop()
	}
}
