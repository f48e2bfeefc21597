package journal

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"
)

func TestMemoryStoreAppendInOrder(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	j, err := s.Create(ctx, Meta{Pipeline: "checkout", Status: "running"})
	if err != nil {
		t.Fatal(err)
	}
	if j.Meta().RunID == "" || j.Meta().Started.IsZero() {
		t.Fatalf("Create left the id or start time empty: %+v", j.Meta())
	}
	if err := j.Append(ctx, Entry{Kind: KindStage, Stage: "a", Status: "started"}, Entry{Kind: KindRecord, Stage: "a", Data: []byte(`{"x":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(ctx, Entry{Kind: KindStage, Stage: "a", Status: "succeeded"}); err != nil {
		t.Fatal(err)
	}
	again, err := s.Open(ctx, j.Meta().RunID)
	if err != nil {
		t.Fatal(err)
	}
	es, err := again.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 {
		t.Fatalf("got %d entries, want 3", len(es))
	}
	for i, e := range es {
		if e.Seq != i+1 {
			t.Errorf("entry %d has seq %d", i, e.Seq)
		}
	}
	if es[1].Kind != KindRecord || string(es[1].Data) != `{"x":1}` || es[2].Status != "succeeded" {
		t.Errorf("entries = %+v", es)
	}
}

func TestMemoryStoreListNewestFirst(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"old", "newest", "mid"} {
		start := map[string]time.Time{"old": t0, "mid": t0.Add(time.Minute), "newest": t0.Add(time.Hour)}[id]
		j, err := s.Create(ctx, Meta{RunID: id, Pipeline: "p", Started: start, Status: "running"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := j.SetStatus(ctx, "failed, undone"); err != nil {
				t.Fatal(err)
			}
		}
	}
	ms, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.RunID+":"+m.Status)
	}
	want := []string{"newest:running", "mid:running", "old:failed, undone"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("List = %q, want %q", got, want)
	}
}

func TestMemoryStoreErrors(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	if _, err := s.Open(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open of an unknown run: %v, want ErrNotFound", err)
	}
	if _, err := s.Create(ctx, Meta{RunID: "r1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, Meta{RunID: "r1"}); err == nil {
		t.Error("a second Create of run r1 must fail")
	}
}

func TestNewRunID(t *testing.T) {
	label := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	seen := map[string]bool{}
	for range 200 {
		id := NewRunID()
		if !label.MatchString(id) || len(id) > 40 {
			t.Fatalf("run id %q is not a short DNS label", id)
		}
		if seen[id] {
			t.Fatalf("run id %q generated twice", id)
		}
		seen[id] = true
	}
}

func TestLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"failed, undone":        "failed-undone",
		"running":               "running",
		"Checkout Service (EU)": "Checkout-Service-EU",
		"":                      "",
	} {
		if got := labelValue(in); got != want {
			t.Errorf("labelValue(%q) = %q, want %q", in, got, want)
		}
	}
}
