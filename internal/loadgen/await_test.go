package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A Service just created: its proxy fails the first requests (the data
// plane has not yet acted on its endpoints), then v1 answers.
func TestAwaitWaitsForTheVersion(t *testing.T) {
	var n, good atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "web.example" || r.Header.Get("X-Canary") != "no" {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		switch i := n.Add(1); {
		case i <= 2:
			http.Error(w, "no endpoint", http.StatusServiceUnavailable)
		case i <= 4:
			w.Header().Set(VersionHeader, "v0")
		default:
			w.Header().Set(VersionHeader, "v1")
			good.Add(1)
		}
	}))
	defer srv.Close()
	err := Await(context.Background(), AwaitOptions{URL: srv.URL, Host: "web.example", Header: http.Header{"X-Canary": {"no"}},
		Version: "v1", For: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() < 5 {
		t.Errorf("returned after %d requests, before v1 answered", n.Load())
	}
	if good.Load() < 2 {
		t.Errorf("returned after %d answer(s) from v1: for=100ms wants more than the first", good.Load())
	}
}

func TestAwaitGivesUpWithTheLastAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(VersionHeader, "v2")
	}))
	defer srv.Close()
	err := Await(context.Background(), AwaitOptions{URL: srv.URL, Version: "v1", Timeout: 200 * time.Millisecond})
	if err == nil || err.Error() != `no answer from v1 after 200ms; last: 200 OK from "v2"` {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = Await(ctx, AwaitOptions{URL: srv.URL, Version: "v1", For: time.Second})
	if err == nil || !strings.HasPrefix(err.Error(), "no answer from v1 for 1s: context canceled; last: ") {
		t.Fatalf("err (cancelled) = %v", err)
	}
}
