package dag

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
)

func build(edges map[string][]string, order ...string) *Graph {
	g := New()
	for _, v := range order {
		g.Add(v)
	}
	for _, v := range order {
		for _, d := range edges[v] {
			g.Connect(v, d)
		}
	}
	return g
}

func TestCycles(t *testing.T) {
	g := build(map[string][]string{"a": {"c"}, "b": {"a"}, "c": {"b"}, "d": {"d"}, "e": {"a"}}, "a", "b", "c", "d", "e")
	got := g.Cycles()
	want := [][]string{{"a", "b", "c"}, {"d"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("cycles = %v, want %v", got, want)
	}
	if c := build(map[string][]string{"b": {"a"}}, "a", "b").Cycles(); len(c) != 0 {
		t.Fatalf("acyclic graph reported cycles %v", c)
	}
}

func TestOrderIsStableAndRespectsDependencies(t *testing.T) {
	g := build(map[string][]string{"deploy": {"lint"}, "verify": {"deploy"}, "notify": {}, "switch": {"verify", "notify"}}, "switch", "verify", "deploy", "lint", "notify")
	got := g.Order()
	want := []string{"lint", "deploy", "verify", "notify", "switch"} // deploy is declared before notify
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func TestWalkRespectsDependenciesAndLimit(t *testing.T) {
	g := New()
	for i := 0; i < 20; i++ {
		g.Add(fmt.Sprint(i))
	}
	for i := 5; i < 20; i++ {
		g.Connect(fmt.Sprint(i), fmt.Sprint(i%5))
	}
	var mu sync.Mutex
	finished := map[string]bool{}
	var inFlight, peak atomic.Int32
	gate := make(chan struct{})
	close(gate)
	left := g.Walk(context.Background(), 3, func(ctx context.Context, v string) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		mu.Lock()
		for _, d := range g.DependsOn(v) {
			if !finished[d] {
				t.Errorf("%s started before its dependency %s finished", v, d)
			}
		}
		mu.Unlock()
		<-gate
		mu.Lock()
		finished[v] = true
		mu.Unlock()
		inFlight.Add(-1)
	})
	if len(left) != 0 || len(finished) != 20 {
		t.Fatalf("not started %v, finished %d", left, len(finished))
	}
	if p := peak.Load(); p > 3 {
		t.Fatalf("peak parallelism %d exceeds the limit 3", p)
	}
}

func TestWalkStopsSchedulingWhenCancelled(t *testing.T) {
	g := build(map[string][]string{"b": {"a"}, "c": {"b"}}, "a", "b", "c")
	ctx, cancel := context.WithCancel(context.Background())
	var visited []string
	left := g.Walk(ctx, 4, func(ctx context.Context, v string) {
		visited = append(visited, v)
		if v == "a" {
			cancel()
		}
	})
	if !reflect.DeepEqual(visited, []string{"a"}) || !reflect.DeepEqual(left, []string{"b", "c"}) {
		t.Fatalf("visited %v, not started %v", visited, left)
	}
}

func BenchmarkWalk10000(b *testing.B) {
	g := New()
	for i := 0; i < 10000; i++ {
		g.Add(fmt.Sprint(i))
		if i > 0 {
			g.Connect(fmt.Sprint(i), fmt.Sprint(i/2))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		g.Walk(context.Background(), 8, func(context.Context, string) {})
	}
}
