package engine

import (
	"runtime/debug"
	"sync"
)

// prepareGCPercent is the GC percent while Prepare runs.
//
// Prepare checks every stage with the whole syntax tree live, most of a
// large pipeline's heap, and makes short-lived values for each stage: at
// the default of 100 the heap grows to twice what is live before each
// collection, and that is validate's peak. At 60 the peak of validate of
// 10,000 stages fell from 198-206 to 174-179 MiB with no difference in
// CPU time that runs could show (docs/design.md, "Targets"): what dies
// young costs nothing to collect, and the tree is marked a few more times.
const prepareGCPercent = 60

// gcPace counts the Prepares under way (a fleet prepares one per target)
// and keeps the GC percent they found, to give it back after the last.
var gcPace struct {
	sync.Mutex
	running int
	was     int
}

// lowerGC sets the GC percent to prepareGCPercent, unless the process set
// a lower one or turned collection off, until every Prepare that called it
// has called the func it returned.
func lowerGC() (restore func()) {
	gcPace.Lock()
	defer gcPace.Unlock()
	if gcPace.running == 0 {
		gcPace.was = debug.SetGCPercent(prepareGCPercent)
		if gcPace.was < prepareGCPercent {
			debug.SetGCPercent(gcPace.was)
		}
	}
	gcPace.running++
	return func() {
		gcPace.Lock()
		defer gcPace.Unlock()
		if gcPace.running--; gcPace.running == 0 {
			debug.SetGCPercent(gcPace.was)
		}
	}
}
