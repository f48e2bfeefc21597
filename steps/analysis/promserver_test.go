package analysis

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A real Prometheus for the prometheus provider's tests. The binary is, in
// order: $CUTOVER_PROMETHEUS, `prometheus` on PATH (Debian's package), or
// built from the module pinned in testdata/prometheus and cached under
// $HOME/.cache/cutover/prometheus/<version>. It is never silently skipped:
// a machine without it builds it (several minutes cold).

var (
	promOnce sync.Once
	promBin  string
	promErr  error
)

func prometheusBinary(t *testing.T) string {
	t.Helper()
	promOnce.Do(func() { promBin, promErr = findOrBuildPrometheus(t) })
	if promErr != nil {
		t.Fatalf("no Prometheus to test against: %v", promErr)
	}
	return promBin
}

func findOrBuildPrometheus(t *testing.T) (string, error) {
	if p := os.Getenv("CUTOVER_PROMETHEUS"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p, nil
	}
	mod, err := filepath.Abs(filepath.Join("..", "..", "testdata", "prometheus"))
	if err != nil {
		return "", err
	}
	gomod, err := os.ReadFile(filepath.Join(mod, "go.mod"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`github.com/prometheus/prometheus (v\S+)`).FindSubmatch(gomod)
	if m == nil {
		return "", fmt.Errorf("%s/go.mod does not pin github.com/prometheus/prometheus", mod)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(home, ".cache", "cutover", "prometheus", string(m[1]), "prometheus")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	t.Logf("building Prometheus %s into %s (minutes when cold)", m[1], bin)
	tmp := bin + fmt.Sprintf(".tmp%d", os.Getpid())
	// remove_all_sd: a static scrape target needs no service discovery (see
	// testdata/prometheus/go.mod).
	cmd := exec.Command("go", "build", "-tags", "remove_all_sd", "-o", tmp, "github.com/prometheus/prometheus/cmd/prometheus")
	cmd.Dir = mod
	// Keep the build modest on small CI machines, and out of any workspace.
	cmd.Env = append(os.Environ(), "GOWORK=off", fmt.Sprintf("GOMAXPROCS=%d", max(1, runtime.NumCPU()/2)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build of Prometheus in %s: %v\n%s", mod, err, out)
	}
	// Rename is atomic: a concurrent test binary sees a whole file or none.
	return bin, os.Rename(tmp, bin)
}

// metrics serves http_requests_in_flight gauges in the Prometheus text
// format, with values the test sets.
type metrics struct {
	checkout, cart atomic.Int64
	srv            *httptest.Server
}

func newMetrics(t *testing.T) *metrics {
	m := &metrics{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE http_requests_in_flight gauge\n")
		fmt.Fprintf(w, "http_requests_in_flight{app=\"checkout\"} %d\n", m.checkout.Load())
		fmt.Fprintf(w, "http_requests_in_flight{app=\"cart\"} %d\n", m.cart.Load())
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// startPrometheus runs a Prometheus scraping target every 200ms and returns
// its address. Its log is printed when the test fails.
func startPrometheus(t *testing.T, target string) string {
	bin := prometheusBinary(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 200ms
  scrape_timeout: 150ms
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [%q]
`, strings.TrimPrefix(target, "http://"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var log bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	// Ready when /-/ready answers 200; fail early if the process dies.
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("prometheus exited before it was ready: %v\n%s", err, log.String())
		case <-deadline:
			t.Fatalf("prometheus not ready within 60s\n%s", log.String())
		case <-tick.C:
			resp, err := http.Get("http://" + addr + "/-/ready")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return "http://" + addr
				}
			}
		}
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
