package demoapp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/internal/demoapp/registry"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnv(t *testing.T) {
	c, err := ConfigFromEnv(env(map[string]string{EnvImage: "registry.local:5000/demo:v2", EnvPorts: "8080, 9090", EnvLatency: "20ms", EnvErrorRate: "1", EnvIgnoreSIGTERM: "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != "v2" || len(c.Ports) != 2 || c.Ports[1] != 9090 || c.Latency != 20*time.Millisecond || c.ErrorRate != 1 || !c.IgnoreSIGTERM || c.Host != "127.0.0.1" {
		t.Errorf("got %+v", c)
	}
	_, err = ConfigFromEnv(env(map[string]string{EnvPorts: "http", EnvLatency: "soon", EnvErrorRate: "2", EnvFailLiveness: "maybe"}))
	for _, want := range []string{"PORTS", "LATENCY", "ERROR_RATE", "FAIL_LIVENESS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestImageTag(t *testing.T) {
	for in, want := range map[string]string{"demo:v1": "v1", "host:5000/demo": "v0", "host:5000/demo:v3": "v3", "demo:v4@sha256:abc": "v4", "": "v0"} {
		if got := ImageTag(in); got != want {
			t.Errorf("ImageTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func do(t *testing.T, h http.Handler, method, target, body string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec, strings.TrimSpace(rec.Body.String())
}

func TestActuatorMarksTheRegistry(t *testing.T) {
	reg := httptest.NewServer(registry.NewServer(0))
	defer reg.Close()
	a := New(Config{Version: "v1", Host: "127.0.0.1", Ports: []int{8080}, Pod: "p1", App: "demo", Registry: reg.URL + "/ns1"})
	ctx := context.Background()
	if err := a.reg.register(ctx); err != nil {
		t.Fatal(err)
	}
	rc := &registry.Client{URL: reg.URL + "/ns1"}
	statusIn := func() string {
		list, err := rc.Instances(ctx, "demo")
		if err != nil || len(list) != 1 {
			t.Fatalf("instances %v %v", list, err)
		}
		return list[0].Status
	}
	h := a.Handler()
	steps := []struct{ method, target, body, registry string }{
		{"POST", "/actuator/service-registry", `{"status":"DOWN"}`, "DOWN"},
		{"POST", "/actuator/service-registry?status=UP", "", "UP"},
		{"POST", "/actuator/pause", "", "DOWN"},
		{"POST", "/actuator/resume", "", "UP"},
	}
	for _, s := range steps {
		if rec, body := do(t, h, s.method, s.target, s.body); rec.Code != 200 {
			t.Fatalf("%s %s: %d %s", s.method, s.target, rec.Code, body)
		}
		if got := statusIn(); got != s.registry {
			t.Errorf("after %s %s the registry shows %s, want %s", s.method, s.target, got, s.registry)
		}
		if _, body := do(t, h, "GET", "/actuator/service-registry", ""); body != `{"status":"`+s.registry+`"}` {
			t.Errorf("GET service-registry: %s", body)
		}
	}
	if rec, _ := do(t, h, "POST", "/actuator/service-registry", `{"status":"GONE"}`); rec.Code != 400 {
		t.Errorf("unknown status: %d", rec.Code)
	}
	if rec, _ := do(t, h, "GET", "/actuator/pause", ""); rec.Code != 405 {
		t.Errorf("GET pause: %d", rec.Code)
	}
}

func TestProbesAndMainPath(t *testing.T) {
	a := New(Config{Version: "v7", Pod: "p", ErrorRate: 1, FailLivenessAfter: time.Nanosecond})
	h := a.Handler()
	if rec, _ := do(t, h, "GET", "/ready", ""); rec.Code != 503 {
		t.Errorf("ready before Serve: %d", rec.Code)
	}
	a.ready.Store(true)
	for path, want := range map[string]int{"/ready": 200, "/actuator/health/readiness": 200, "/live": 503, "/actuator/health": 503} {
		if rec, _ := do(t, h, "GET", path, ""); rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
	}
	rec, body := do(t, h, "GET", "/anything", "")
	if rec.Code != 500 || rec.Header().Get(HeaderVersion) != "v7" || !strings.Contains(body, `"version":"v7"`) {
		t.Errorf("main path: %d %v %s", rec.Code, rec.Header(), body)
	}
	if rec, _ := do(t, h, "GET", "/?sleep=2h", ""); rec.Code != 400 {
		t.Errorf("sleep beyond the bound: %d", rec.Code)
	}
}

// On shutdown an in-flight request finishes while new connections are
// refused and the instance leaves the registry.
func TestServeDrainsInFlight(t *testing.T) {
	reg := httptest.NewServer(registry.NewServer(0))
	defer reg.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	cfg := Config{Version: "v1", Host: "127.0.0.1", Ports: []int{l.Addr().(*net.TCPAddr).Port}, Pod: "p1", App: "demo",
		Registry: reg.URL + "/ns", Heartbeat: time.Hour, DrainTimeout: 10 * time.Second}
	a := New(cfg)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, []net.Listener{l}, t.Logf) }()

	rc := &registry.Client{URL: reg.URL + "/ns"}
	waitFor(t, func() bool { list, _ := rc.Instances(context.Background(), "demo"); return len(list) == 1 })

	inflight := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/?sleep=500ms")
		if err != nil {
			inflight <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		inflight <- resp.Status + " " + resp.Header.Get(HeaderVersion) + " " + strings.TrimSpace(string(body))
	}()
	waitFor(t, func() bool { return a.served.Load() == 1 })
	stop()
	waitFor(t, func() bool { return !a.isReady() })
	waitFor(t, func() bool {
		_, err := net.DialTimeout("tcp", addr, time.Second)
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	if got := <-inflight; !strings.HasPrefix(got, "200 OK v1") {
		t.Errorf("in-flight request: %s", got)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	evs, err := rc.Events(context.Background())
	if err != nil || len(evs) != 2 || evs[1].Event != "cancelled" {
		t.Errorf("registry events %+v %v", evs, err)
	}
}

// waitFor waits for cond with a deadline (a condition, not a fixed sleep).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
