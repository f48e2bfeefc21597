package releasebench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/cutoverhq/cutover/events"
)

// BenchmarkFailedGateToSelectorRestored measures the whole undo path of a
// blue/green release whose gate fails after the switch: from the failure of
// the verify_live stage (the time on its stage_failed event) to this
// benchmark's watch seeing the Service select v1 again. Each op is one
// failed release of a new version (v2, v3, …) next to v1, so no op waits
// for the previous op's Deployment to be deleted. docs/design.md ("Targets"): p99 < 250 ms.
// Run it with -benchtime 20x or more for a p99 worth the name.
func BenchmarkFailedGateToSelectorRestored(b *testing.B) {
	x := newBench(b)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer bad.Close()
	ns, kubeconfig := x.namespace("bench-undo")
	x.initial(kubeconfig)
	b.ResetTimer()

	samples := make([]time.Duration, 0, b.N)
	for i := range b.N {
		version := fmt.Sprintf("v%d", i+2)
		samples = append(samples, x.failedRelease(ns, kubeconfig, version, bad.URL))
		x.checkReleased(ns, "v1", "", 0)
	}
	b.StopTimer()
	slices.Sort(samples)
	b.ReportMetric(ms(percentile(samples, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(samples, 99)), "p99-ms")
	b.ReportMetric(ms(samples[len(samples)-1]), "max-ms")
}

// failedRelease runs one release of version whose smoke gate fails, and
// returns the time from the gate's failure to the selector back on v1.
func (x *bench) failedRelease(ns, kubeconfig, version, badURL string) time.Duration {
	b := x.b
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	restored := x.watchSelector(ctx, ns, version)

	cmd := x.cutoverCmd(ctx, kubeconfig, x.releaseArgs(version, "-o", "json",
		"-var", "smoke_url="+badURL, "-var", "analysis_count=1")...)
	stdout, err := cmd.StdoutPipe()
	must(b, err, "stdout pipe")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	must(b, cmd.Start(), "start cutover")
	var failedAt time.Time
	var result events.Result
	var log strings.Builder
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		var ev events.Event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch {
		case ev.Type == events.StageFailed && ev.Stage == "verify_live":
			failedAt = ev.Time
		case ev.Type == events.RunFinished:
			result = ev.Result
		}
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 || result != events.FailedUndone {
		b.Fatalf("release %s: exit %d, result %q; want exit 1, %q\n%s%s", version, code, result, events.FailedUndone, log.String(), stderr.String())
	}
	if failedAt.IsZero() {
		b.Fatalf("release %s: no stage_failed event for verify_live (the gate after the switch):\n%s", version, log.String())
	}
	var back time.Time
	select {
	case back = <-restored:
	case <-ctx.Done():
		b.Fatalf("release %s: the Service %s/demo never went from %s back to v1:\n%s", version, ns, version, log.String())
	}
	d := back.Sub(failedAt)
	if d < 0 {
		b.Fatalf("release %s: selector back on v1 %v before the gate failed", version, -d)
	}
	return d
}

// watchSelector watches Service demo from its current state (which must
// select v1) and sends the time it sees the selector back on v1 after it
// was switched to version.
func (x *bench) watchSelector(ctx context.Context, ns, version string) <-chan time.Time {
	b := x.b
	b.Helper()
	svcs := x.client.CoreV1().Services(ns)
	svc, err := svcs.Get(ctx, "demo", metav1.GetOptions{})
	must(b, err, "get Service %s/demo", ns)
	if v := svc.Spec.Selector["version"]; v != "v1" {
		b.Fatalf("Service %s/demo selects version=%q before the release, want v1", ns, v)
	}
	w, err := svcs.Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", "demo").String(),
		ResourceVersion: svc.ResourceVersion,
	})
	must(b, err, "watch Service %s/demo", ns)
	out := make(chan time.Time, 1)
	go func() {
		defer w.Stop()
		switched := false
		for ev := range w.ResultChan() {
			s, ok := ev.Object.(*corev1.Service)
			if !ok || ev.Type != watch.Modified {
				continue
			}
			now := time.Now()
			switch v := s.Spec.Selector["version"]; {
			case v == version:
				switched = true
			case v == "v1" && switched:
				out <- now
				return
			}
		}
	}()
	return out
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
