package registry

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

func TestLeasesStatusAndEvents(t *testing.T) {
	s := NewServer(time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx := context.Background()
	a := &Client{URL: srv.URL + "/a"}
	b := &Client{URL: srv.URL + "/b"}
	for _, id := range []string{"p1", "p2"} {
		if err := a.Register(ctx, Instance{App: "demo", ID: id, Address: "127.2.0.1:8080"}); err != nil {
			t.Fatal(err)
		}
	}
	if list, _ := b.Instances(ctx, "demo"); len(list) != 0 {
		t.Errorf("space b sees space a: %v", list)
	}
	if err := a.SetStatus(ctx, "demo", "p1", StatusDown); err != nil {
		t.Fatal(err)
	}
	if err := a.SetStatus(ctx, "demo", "p1", "SLEEPY"); err == nil {
		t.Error("unknown status accepted")
	}
	now = now.Add(50 * time.Second)
	if err := a.Renew(ctx, "demo", "p1"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(20 * time.Second) // p2's lease (70s old) ran out; p1 renewed 20s ago
	list, err := a.Instances(ctx, "demo")
	if err != nil || len(list) != 1 || list[0].ID != "p1" || list[0].Status != StatusDown {
		t.Fatalf("instances %+v %v", list, err)
	}
	if err := a.Renew(ctx, "demo", "p2"); !errors.Is(err, ErrUnknown) {
		t.Errorf("renew of an expired instance: %v", err)
	}
	if err := a.Cancel(ctx, "demo", "p1"); err != nil {
		t.Fatal(err)
	}
	evs, _ := a.Events(ctx)
	var got []string
	for _, e := range evs {
		got = append(got, e.ID+" "+e.Event+" "+e.Status)
	}
	want := []string{"p1 registered UP", "p2 registered UP", "p1 status DOWN", "p2 expired ", "p1 cancelled "}
	if len(got) != len(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %q, want %q", i, got[i], want[i])
		}
	}
}

// A cache serves its last list until Refresh has passed: a DOWN reaches
// its callers late, as with Eureka's clients.
func TestCacheRefreshDelay(t *testing.T) {
	srv := httptest.NewServer(NewServer(0))
	defer srv.Close()
	ctx := context.Background()
	c := &Client{URL: srv.URL + "/ns"}
	for _, id := range []string{"p1", "p2"} {
		if err := c.Register(ctx, Instance{App: "demo", ID: id, Address: "x:1"}); err != nil {
			t.Fatal(err)
		}
	}
	cache := &Cache{Client: c, App: "demo", Refresh: time.Hour}
	if up, _ := cache.Up(ctx); len(up) != 2 {
		t.Fatalf("up %v", up)
	}
	if err := c.SetStatus(ctx, "demo", "p1", StatusDown); err != nil {
		t.Fatal(err)
	}
	if up, _ := cache.Up(ctx); len(up) != 2 {
		t.Errorf("the cache refreshed before its interval: %v", up)
	}
	cache.Refresh = time.Nanosecond
	if up, _ := cache.Up(ctx); len(up) != 1 || up[0].ID != "p2" {
		t.Errorf("after the interval: %v", up)
	}
}
