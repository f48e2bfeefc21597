package dataplane

import (
	"sync"
	"time"
)

// delayed holds values by key that change only a propagation delay after
// they were observed: set records the value seen now and applies it later,
// in the order observed (a later observation never gets overwritten by an
// earlier one whose timer fired late).
type delayed[K comparable, V any] struct {
	delay time.Duration
	mu    sync.Mutex
	vals  map[K]*delayedVal[V]
	// applied, when set, is called (without the lock) after a value took
	// effect.
	applied func(K)
}

type delayedVal[V any] struct {
	seq, appliedSeq uint64
	v               V
	present         bool
}

func newDelayed[K comparable, V any](delay time.Duration) *delayed[K, V] {
	return &delayed[K, V]{delay: delay, vals: map[K]*delayedVal[V]{}}
}

// set schedules v (present=false: the key's removal) to take effect after
// the delay.
func (d *delayed[K, V]) set(k K, v V, present bool) {
	d.mu.Lock()
	e := d.vals[k]
	if e == nil {
		e = &delayedVal[V]{}
		d.vals[k] = e
	}
	e.seq++
	seq := e.seq
	d.mu.Unlock()
	apply := func() {
		d.mu.Lock()
		if seq > e.appliedSeq {
			e.appliedSeq, e.v, e.present = seq, v, present
		}
		d.mu.Unlock()
		if d.applied != nil {
			d.applied(k)
		}
	}
	if d.delay <= 0 {
		apply()
		return
	}
	time.AfterFunc(d.delay, apply)
}

// get returns the value in effect.
func (d *delayed[K, V]) get(k K) (V, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.vals[k]
	if e == nil || !e.present {
		var zero V
		return zero, false
	}
	return e.v, true
}
