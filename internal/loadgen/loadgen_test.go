package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/internal/demoapp/registry"
)

func TestCountsVersionsErrorsAndSeconds(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "web.example" || r.Header.Get("X-Canary") != "yes" {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		switch i := n.Add(1); {
		case i%10 == 0:
			w.Header().Set(VersionHeader, "v2")
			http.Error(w, "boom", http.StatusInternalServerError)
		case i%2 == 0:
			w.Header().Set(VersionHeader, "v2")
		default:
			w.Header().Set(VersionHeader, "v1")
		}
	}))
	defer srv.Close()
	var seconds []Second
	r, err := Start(context.Background(), Options{URL: srv.URL, Rate: 400, Count: 400, Host: "web.example",
		Header: http.Header{"X-Canary": {"yes"}}, OnSecond: func(s Second) { seconds = append(seconds, s) }})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Wait()
	if s.Requests != 400 || s.Errors != 40 || s.ErrorKinds["5xx"] != 40 || s.Versions["v1"] != 200 || s.Versions["v2"] != 160 {
		t.Fatalf("summary: %s %v", s, s.ErrorKinds)
	}
	if got := s.Share("v2"); got < 0.44 || got > 0.45 {
		t.Errorf("share of v2 = %.3f, want 160/360", got)
	}
	if len(s.ErrorSamples["5xx"]) != maxSamples {
		t.Errorf("samples: %v", s.ErrorSamples)
	}
	if s.FirstSeen["v1"] > s.LastSeen["v1"] || s.LastSeen["v2"] > s.Duration {
		t.Errorf("first/last seen: %v %v (duration %.3f)", s.FirstSeen, s.LastSeen, s.Duration)
	}
	total := 0
	for _, sec := range s.Seconds {
		total += sec.Errors
		for _, c := range sec.Versions {
			total += c
		}
	}
	if total != 400 {
		t.Errorf("the per-second buckets hold %d requests, want 400", total)
	}
	if len(seconds) != len(s.Seconds) {
		t.Errorf("OnSecond was called %d times for %d seconds", len(seconds), len(s.Seconds))
	}
	if s.Latency.P50 <= 0 || s.Latency.P50 > s.Latency.P99 || s.Latency.P99 > s.Latency.Max {
		t.Errorf("latency: %+v", s.Latency)
	}
}

func TestRefusedAndStop(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/"
	l.Close() // nothing listens: every connection is refused
	r, err := Start(context.Background(), Options{URL: url, Rate: 100, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for r.Summary().Requests < 20 {
		select {
		case <-r.Done():
			t.Fatal("the run ended before its bound")
		case <-time.After(10 * time.Millisecond):
		}
	}
	s := r.Stop()
	if s.Errors != s.Requests || s.ErrorKinds["refused"] != s.Requests || s.OK != 0 {
		t.Fatalf("summary: %s %v", s, s.ErrorSamples)
	}
	if s.Duration > 30 {
		t.Errorf("Stop did not end the run early: %.1fs", s.Duration)
	}
}

func TestTargets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set(VersionHeader, "v1") }))
	defer srv.Close()
	var calls atomic.Int64
	r, err := Start(context.Background(), Options{Rate: 200, Count: 20, Targets: targetsFunc(func() (string, bool) {
		return srv.URL, calls.Add(1)%2 == 0
	})})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Wait()
	if s.Versions["v1"] != 10 || s.ErrorKinds["no-target"] != 10 {
		t.Fatalf("summary: %s %v", s, s.ErrorKinds)
	}
}

type targetsFunc func() (string, bool)

func (f targetsFunc) Target() (string, bool) { return f() }

// Requests go to the registry's UP instances only, round-robin.
func TestRegistryTargets(t *testing.T) {
	reg := httptest.NewServer(registry.NewServer(time.Minute))
	defer reg.Close()
	var hits [3]atomic.Int64
	cl := &registry.Client{URL: reg.URL + "/ns"}
	for i := range hits {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits[i].Add(1) }))
		defer srv.Close()
		status := registry.StatusUp
		if i == 2 {
			status = registry.StatusDown
		}
		in := registry.Instance{App: "demo", ID: fmt.Sprint("i", i), Address: srv.Listener.Addr().String(), Status: status}
		if err := cl.Register(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Start(context.Background(), Options{Rate: 500, Count: 100, Targets: NewRegistryTargets(reg.URL+"/ns", "demo", "/x", time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Wait()
	if s.Errors != 0 || hits[0].Load() != 50 || hits[1].Load() != 50 || hits[2].Load() != 0 {
		t.Fatalf("%s; hits %d/%d/%d, want 50/50/0 (the DOWN one none)", s, hits[0].Load(), hits[1].Load(), hits[2].Load())
	}
}
