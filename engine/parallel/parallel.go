// Package parallel runs independent pieces of work on every processor: the
// pieces of a large file's parse and the check of each stage, which
// `cutover validate` of a large pipeline spends its time in
// (docs/design.md, "Targets").
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls f(i) for every i in [0, n), from as many goroutines as there
// are processors, and returns when all calls have. Once any call returns
// false, calls not yet started are not made and For returns false.
// f must only write what belongs to its i.
func For(n int, f func(i int) bool) bool {
	var next atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for !stop.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if !f(i) {
					stop.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return !stop.Load()
}
