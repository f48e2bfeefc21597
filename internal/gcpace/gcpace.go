// Package gcpace paces the garbage collector while a command loads its
// pipeline (docs/design.md, "Targets").
//
// Loading is a burst with two shapes. Parsing makes mostly garbage (the
// HCL lexer's tokens) beside a syntax tree, about forty times the source,
// that stays live to the end; at Go's default pace the collector starts at
// a 4 MiB heap and runs each time the heap doubles, marking the growing
// tree every time: a dozen cycles for a 10,000-stage file. So the parse
// runs without collection until the heap reaches a bound sized from the
// source, then collects at that bound. Preparing evaluates each stage
// against the whole tree, making values that die young: collecting at
// 60 % growth instead of 100 % keeps the process's peak lower (the tree
// is marked a few more times, which the runs could not tell apart). Then
// the process's own settings are back, for the minutes a run may last.
package gcpace

import (
	"math"
	"os"
	"runtime/debug"
	"sync"
)

const (
	// parseFloor is the least heap a parse may grow to before collecting.
	parseFloor = 130 << 20
	// parsePerByte is the heap a parse may grow to per byte of source:
	// twice the tree it keeps, with room for the runtime's own, so that
	// a collection at the bound frees at least half of what is there.
	parsePerByte = 90
	// preparePercent is the GC percent while preparing.
	preparePercent = 60
)

// ParseBound is the heap a parse of sourceBytes may grow to before it
// collects garbage.
func ParseBound(sourceBytes int64) int64 {
	return max(parseFloor, parsePerByte*sourceBytes)
}

// Pace is one load's pacing: Parsed when its parse is done, Done when the
// load is over.
type Pace struct {
	bound        int64
	parsing, own bool
}

// pacer counts the loads under way and keeps the settings they found, to
// give back after the last; loads at once share the sum of their bounds.
type pacer struct {
	sync.Mutex
	loads, parsing int
	bound          int64
	wasPercent     int
	wasLimit       int64
}

var state pacer

// Start paces a load of sourceBytes of pipeline source, starting with its
// parse. A process whose GOGC or GOMEMLIMIT is set, or that turned
// collection off, is left as it is.
func Start(sourceBytes int64) *Pace {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return &Pace{}
	}
	state.Lock()
	defer state.Unlock()
	if state.loads == 0 {
		was := debug.SetGCPercent(-1)
		if was < 0 { // the process turned collection off
			debug.SetGCPercent(was)
			return &Pace{}
		}
		state.wasPercent = was
		state.wasLimit = debug.SetMemoryLimit(math.MaxInt64)
	}
	state.loads++
	state.parsing++
	pc := &Pace{bound: ParseBound(sourceBytes), parsing: true, own: true}
	state.bound += pc.bound
	state.apply()
	return pc
}

// Parsed moves the load from parsing to preparing.
func (pc *Pace) Parsed() {
	if !pc.own || !pc.parsing {
		return
	}
	state.Lock()
	defer state.Unlock()
	pc.parsing = false
	state.parsing--
	state.bound -= pc.bound
	state.apply()
}

// Done ends the load's pacing.
func (pc *Pace) Done() {
	if !pc.own {
		return
	}
	pc.Parsed()
	state.Lock()
	defer state.Unlock()
	pc.own = false
	if state.loads--; state.loads == 0 {
		debug.SetMemoryLimit(state.wasLimit)
		debug.SetGCPercent(state.wasPercent)
	}
}

// apply sets the collector for the loads under way: off up to their
// bound while one parses, else preparePercent (or the process's own
// setting when lower or off). Called with s held.
func (s *pacer) apply() {
	if s.parsing > 0 {
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(min(s.bound, s.wasLimit))
		return
	}
	debug.SetMemoryLimit(s.wasLimit)
	debug.SetGCPercent(min(s.wasPercent, preparePercent))
}
