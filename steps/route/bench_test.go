package route

import (
	"reflect"
	"sort"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkUndoSwitchSelector measures the undo target (docs/design.md, "Targets") on the local
// control plane: from a failed gate (simulated: Undo right after Run) to the
// Service selector restored. Only Undo is timed; p50-ms and p99-ms are the
// latencies of one Undo (target: p99 < 250 ms).
func BenchmarkUndoSwitchSelector(b *testing.B) {
	s := newScenario(b)
	s.deployment("v1", 1, nil)
	s.deployment("v2", 1, nil)
	s.waitReadyPods("app=web,version=v1", 1)
	s.waitReadyPods("app=web,version=v2", 1)
	s.service("web", map[string]string{"app": "web", "version": "v1"})
	k := switchSelector{}
	cfg := cfgOf(b, k, `
service        = "web"
selector       = { version = "v2" }
wait_endpoints = false`)

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := k.Run(s.ctx, s.env, cfg); err != nil {
			b.Fatal(err)
		}
		recs := s.takeRecords()
		b.StartTimer()
		start := time.Now()
		if err := k.Undo(s.ctx, s.env, recs); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	svc, err := s.cl.Typed.CoreV1().Services(s.ns).Get(s.ctx, "web", metav1.GetOptions{})
	s.must(err)
	if want := map[string]string{"app": "web", "version": "v1"}; !reflect.DeepEqual(svc.Spec.Selector, want) {
		b.Fatalf("selector after the last undo = %v, want %v", svc.Spec.Selector, want)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
