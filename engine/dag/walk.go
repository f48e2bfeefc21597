package dag

import (
	"context"
)

// Visit is called for a vertex once all of its dependencies have been
// visited (whatever their outcome). It returns when the vertex is done.
type Visit func(ctx context.Context, v string)

// Walk visits every vertex of an acyclic graph, at most limit at a time
// (limit < 1 means one), each only after all its dependencies returned.
// When ctx is done no further vertex is started; Walk waits for those in
// flight and returns the vertices it never started, in order.
func (g *Graph) Walk(ctx context.Context, limit int, visit Visit) (notStarted []string) {
	if limit < 1 {
		limit = 1
	}
	pending := make(map[string]int, len(g.order))
	var ready []string
	for _, v := range g.order {
		pending[v] = len(g.deps[v])
		if pending[v] == 0 {
			ready = append(ready, v)
		}
	}
	done := make(chan string, limit)
	inFlight := 0
	started := make(map[string]bool, len(g.order))
	for {
		for ctx.Err() == nil && inFlight < limit && len(ready) > 0 {
			v := ready[0]
			ready = ready[1:]
			started[v] = true
			inFlight++
			go func() {
				visit(ctx, v)
				done <- v
			}()
		}
		if inFlight == 0 {
			break
		}
		v := <-done
		inFlight--
		for _, d := range g.rdeps[v] {
			pending[d]--
			if pending[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	for _, v := range g.order {
		if !started[v] {
			notStarted = append(notStarted, v)
		}
	}
	return notStarted
}
