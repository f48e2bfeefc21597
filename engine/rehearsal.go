package engine

import (
	"slices"
	"sync"

	"github.com/cutoverhq/cutover/steps"
)

// rehearsal is what the stages of plan --dry-run=server, or of a run's
// --dry-run=server, leave for the stages after them (steps.Planned): each
// stage starts from the objects the dry runs of the stages it depends on
// returned, as a real run starts from what they wrote. Plan and run keep
// it by the same rules; a run's stages end concurrently, hence the lock.
type rehearsal struct {
	p  *Program
	mu sync.Mutex
	// left is what each stage left; unknown names the stages that write
	// but whose changes could not be computed (plan) or rehearsed (run).
	left    map[string]*steps.Planned
	unknown map[string]bool
}

func (p *Program) newRehearsal() *rehearsal {
	return &rehearsal{p: p, left: map[string]*steps.Planned{}, unknown: map[string]bool{}}
}

// before is what the stages name depends on leave, in the order they run;
// the unknown ones are named as what a value is known after.
func (rh *rehearsal) before(name string) *steps.Planned {
	p := rh.p
	up := map[string]bool{}
	queue := slices.Clone(p.Stages[name].Deps)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if !up[n] {
			up[n] = true
			queue = append(queue, p.Stages[n].Deps...)
		}
	}
	rh.mu.Lock()
	defer rh.mu.Unlock()
	var after []string
	for _, n := range p.Order {
		if up[n] && rh.unknown[n] {
			after = append(after, n)
		}
	}
	out := steps.NewPlanned(name, after)
	for _, n := range p.Order {
		if l := rh.left[n]; up[n] && l != nil {
			out.After(l)
		}
	}
	return out
}

// done records what st left (pl, given by before and filled by its kind)
// when known; a stage that changes nothing (steps.ReadOnly) leaves nothing.
func (rh *rehearsal) done(st *Stage, pl *steps.Planned, known bool) {
	if _, ro := st.Kind.(steps.ReadOnly); ro {
		return
	}
	rh.mu.Lock()
	defer rh.mu.Unlock()
	if known {
		rh.left[st.Name] = pl
	} else {
		rh.unknown[st.Name] = true
	}
}
