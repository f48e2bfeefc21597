package kube

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// flaky answers each request with the next status of its script, then 200.
func flaky(t *testing.T, statuses []int, body string) (*httptest.Server, *atomic.Int32, *[]string) {
	t.Helper()
	var n atomic.Int32
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			w.WriteHeader(statuses[i])
			_, _ = io.WriteString(w, body)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &n, &bodies
}

func client() *http.Client {
	return &http.Client{Transport: &retryTransport{next: http.DefaultTransport, tries: 4, delay: time.Millisecond}}
}

func TestRetryTransportReplaysTransientFailures(t *testing.T) {
	srv, n, bodies := flaky(t, []int{503, 500, 429}, "busy")
	req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/apis/apps/v1/deployments/x", strings.NewReader(`{"spec":{}}`))
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "ok" || n.Load() != 4 {
		t.Fatalf("status %d body %q after %d requests; want 200 ok after 4", resp.StatusCode, b, n.Load())
	}
	for i, got := range *bodies {
		if got != `{"spec":{}}` {
			t.Errorf("attempt %d sent body %q; the body must be replayed whole", i+1, got)
		}
	}
}

func TestRetryTransportGivesUpAfterTries(t *testing.T) {
	srv, n, _ := flaky(t, []int{502, 502, 502, 502, 502}, "bad gateway")
	resp, err := client().Get(srv.URL + "/api/v1/pods")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 502 || string(b) != "bad gateway" || n.Load() != 4 {
		t.Fatalf("status %d body %q after %d requests; want the last 502 after 4", resp.StatusCode, b, n.Load())
	}
}

func TestRetryTransportLeavesAnswersAlone(t *testing.T) {
	exists := `{"kind":"Status","reason":"AlreadyExists","code":409}`
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"create that already exists", http.MethodPost, "/api/v1/namespaces/d/configmaps", 409, exists},
		{"not found", http.MethodGet, "/api/v1/namespaces/d/pods/x", 404, "{}"},
		{"invalid", http.MethodPatch, "/api/v1/namespaces/d/pods/x", 422, "{}"},
		{"watch", http.MethodGet, "/api/v1/pods?watch=true", 503, "{}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, n, _ := flaky(t, []int{tc.status}, tc.body)
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("{}"))
			resp, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || string(b) != tc.body || n.Load() != 1 {
				t.Fatalf("status %d body %q after %d requests; want %d %q after 1", resp.StatusCode, b, n.Load(), tc.status, tc.body)
			}
		})
	}
}

// A conflicting patch without a precondition is worth replaying (the API
// server's own retries ran out); a conflict on a write that carries a
// resourceVersion (an update, a patch naming one, a delete with
// preconditions) fails the same way again and goes back to the caller at
// once: the journal and the lock must hear that someone else wrote.
func TestRetryTransportConflicts(t *testing.T) {
	for _, tc := range []struct {
		name, method, body string
		requests           int32
		status             int
	}{
		{"patch", http.MethodPatch, `{"spec":{"paused":true}}`, 2, 200},
		{"patch with a resourceVersion", http.MethodPatch, `{"metadata":{"resourceVersion":"7"},"data":{"e1":"x"}}`, 1, 409},
		{"update", http.MethodPut, `{"metadata":{"resourceVersion":"7"}}`, 1, 409},
		{"delete with preconditions", http.MethodDelete, `{"preconditions":{"uid":"u"}}`, 1, 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, n, _ := flaky(t, []int{409}, `{"kind":"Status","reason":"Conflict","code":409}`)
			req, _ := http.NewRequest(tc.method, srv.URL+"/api/v1/namespaces/d/services/s", strings.NewReader(tc.body))
			resp, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status || n.Load() != tc.requests {
				t.Fatalf("status %d after %d requests; want %d after %d", resp.StatusCode, n.Load(), tc.status, tc.requests)
			}
		})
	}
}

func TestRetryTransportStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		cancel() // the run is cancelled while the first attempt fails
		w.WriteHeader(503)
	}))
	defer srv.Close()
	c := &http.Client{Transport: &retryTransport{next: http.DefaultTransport, tries: 4, delay: time.Hour}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v; want the request cancelled instead of waiting to retry", err)
	}
	if n.Load() != 1 {
		t.Fatalf("%d requests; want 1", n.Load())
	}
}
