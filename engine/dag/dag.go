// Package dag is a small directed acyclic graph of named vertices: edges,
// cycle detection, a deterministic order and a concurrent walk. What a
// vertex means, and what happens when one fails, is decided by the caller.
package dag

import (
	"sort"
)

// Graph holds vertices and "depends on" edges. The zero value is not ready;
// use New.
type Graph struct {
	order []string            // insertion order, for stable output
	deps  map[string][]string // v -> vertices v depends on
	rdeps map[string][]string // v -> vertices that depend on v
}

// New returns an empty graph.
func New() *Graph { return NewSized(0) }

// NewSized returns an empty graph with room for n vertices: a pipeline's
// stages are known before its graph is built, and growing the maps one
// stage at a time copies them over and over.
func NewSized(n int) *Graph {
	return &Graph{order: make([]string, 0, n), deps: make(map[string][]string, n), rdeps: make(map[string][]string, n)}
}

// Add inserts a vertex; adding it again is a no-op.
func (g *Graph) Add(v string) {
	if _, ok := g.deps[v]; ok {
		return
	}
	g.order = append(g.order, v)
	g.deps[v] = nil
}

// Connect records that v depends on dep. Both must have been added;
// duplicate edges are ignored.
func (g *Graph) Connect(v, dep string) {
	for _, d := range g.deps[v] {
		if d == dep {
			return
		}
	}
	g.deps[v] = append(g.deps[v], dep)
	g.rdeps[dep] = append(g.rdeps[dep], v)
}

// Has reports whether v is a vertex.
func (g *Graph) Has(v string) bool { _, ok := g.deps[v]; return ok }

// Vertices returns the vertices in insertion order.
func (g *Graph) Vertices() []string { return append([]string(nil), g.order...) }

// Len is the number of vertices.
func (g *Graph) Len() int { return len(g.order) }

// DependsOn returns the direct dependencies of v, in the order they were
// connected.
func (g *Graph) DependsOn(v string) []string { return append([]string(nil), g.deps[v]...) }

// Dependants returns the vertices that directly depend on v.
func (g *Graph) Dependants(v string) []string { return append([]string(nil), g.rdeps[v]...) }

// Cycles returns every strongly connected component with more than one
// vertex, and every self-loop, each sorted by insertion order. Tarjan's
// algorithm, iterative so a 10,000-stage chain does not grow the stack.
func (g *Graph) Cycles() [][]string {
	// Per vertex, by its position: its index (-1 while not seen), its low
	// link and whether it is on the stack.
	pos := g.positions()
	index := make([]int, len(g.order))
	for i := range index {
		index[i] = -1
	}
	low := make([]int, len(g.order))
	onStack := make([]bool, len(g.order))
	var stack []string
	var out [][]string
	next := 0

	type frame struct {
		v string
		i int
	}
	for r, root := range g.order {
		if index[r] >= 0 {
			continue
		}
		work := []frame{{v: root}}
		index[r], low[r] = next, next
		next++
		stack = append(stack, root)
		onStack[r] = true
		for len(work) > 0 {
			f := &work[len(work)-1]
			fv := pos[f.v]
			if f.i < len(g.deps[f.v]) {
				w := g.deps[f.v][f.i]
				wv := pos[w]
				f.i++
				if index[wv] < 0 {
					index[wv], low[wv] = next, next
					next++
					stack = append(stack, w)
					onStack[wv] = true
					work = append(work, frame{v: w})
				} else if onStack[wv] && index[wv] < low[fv] {
					low[fv] = index[wv]
				}
				continue
			}
			v := f.v
			work = work[:len(work)-1]
			if len(work) > 0 {
				p := pos[work[len(work)-1].v]
				if low[fv] < low[p] {
					low[p] = low[fv]
				}
			}
			if low[fv] != index[fv] {
				continue
			}
			var scc []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[pos[w]] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			if len(scc) > 1 || g.selfLoop(v) {
				sort.Slice(scc, func(i, j int) bool { return pos[scc[i]] < pos[scc[j]] })
				out = append(out, scc)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return pos[out[i][0]] < pos[out[j][0]] })
	return out
}

func (g *Graph) selfLoop(v string) bool {
	for _, d := range g.deps[v] {
		if d == v {
			return true
		}
	}
	return false
}

func (g *Graph) positions() map[string]int {
	pos := make(map[string]int, len(g.order))
	for i, v := range g.order {
		pos[v] = i
	}
	return pos
}

// Order returns the vertices so that each comes after its dependencies;
// among vertices ready at the same time, insertion order wins. It must only
// be called on an acyclic graph (vertices on a cycle are left out).
func (g *Graph) Order() []string {
	pending := make(map[string]int, len(g.order))
	pos := g.positions()
	var ready []string
	for _, v := range g.order {
		pending[v] = len(g.deps[v])
		if pending[v] == 0 {
			ready = append(ready, v)
		}
	}
	out := make([]string, 0, len(g.order))
	for len(ready) > 0 {
		// ready is kept sorted by position; pop the first.
		v := ready[0]
		ready = ready[1:]
		out = append(out, v)
		for _, d := range g.rdeps[v] {
			pending[d]--
			if pending[d] == 0 {
				i := sort.Search(len(ready), func(i int) bool { return pos[ready[i]] > pos[d] })
				ready = append(ready, "")
				copy(ready[i+1:], ready[i:])
				ready[i] = d
			}
		}
	}
	return out
}
