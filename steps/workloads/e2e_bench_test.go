package workloads

import (
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkWaitReaction measures, on the local control plane, how long a
// running wait step takes to return once the cluster satisfies it: the wait
// is established (it has judged the current state "false"), then the object
// is changed to satisfy it. The time runs from just before the write is sent
// to Run returning, so it is an upper bound that includes the write's round
// trip. Target (docs/design.md, "Targets"): p50 < 20ms, p99 < 100ms.
func BenchmarkWaitReaction(b *testing.B) {
	e := newE2E(b)
	cms := e.c.Typed.CoreV1().ConfigMaps(e.ns)
	cm, err := cms.Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "flag"}, Data: map[string]string{"n": "-1"}}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig([]byte("until = object.data.n == want\n"), "wait.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	cfg := waitCfg("ConfigMap", "flag", map[string]cty.Value{"until": cty.UnknownVal(cty.Bool)})
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		want := strconv.Itoa(i)
		established := make(chan string, 8)
		env := e.env(nil)
		env.Progress = func(m string) {
			select {
			case established <- m:
			default:
			}
		}
		env.Body = f.Body
		env.EvalContext = &hcl.EvalContext{Variables: map[string]cty.Value{"want": cty.StringVal(want)}}
		done := make(chan error, 1)
		go func() {
			_, err := waitKind{}.Run(e.ctx, env, cfg)
			done <- err
		}()
		if !hasMessage(established, "until is false", e.ctx) {
			b.Fatal("the wait never judged the object")
		}
		cm.Data["n"] = want
		start := time.Now()
		if cm, err = cms.Update(e.ctx, cm, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
