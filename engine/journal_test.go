package engine

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
)

// countingJournal records each durable write as the entries it carried.
type countingJournal struct {
	journal.Journal
	mu      sync.Mutex
	writes  []string // "append: a started, a succeeded" / "status failed: …"
	onWrite func(entries []journal.Entry)
}

func describe(entries []journal.Entry) string {
	var parts []string
	for _, e := range entries {
		switch e.Kind {
		case journal.KindStage, journal.KindUndo:
			parts = append(parts, fmt.Sprintf("%s %s %s", e.Kind, e.Stage, e.Status))
		default:
			parts = append(parts, fmt.Sprintf("%s %s", e.Kind, e.Stage))
		}
	}
	return strings.Join(parts, ", ")
}

func (c *countingJournal) Append(ctx context.Context, entries ...journal.Entry) error {
	c.mu.Lock()
	c.writes = append(c.writes, "append: "+describe(entries))
	f := c.onWrite
	c.mu.Unlock()
	if f != nil {
		f(entries)
	}
	return c.Journal.Append(ctx, entries...)
}

func (c *countingJournal) SetStatus(ctx context.Context, status string, entries ...journal.Entry) error {
	c.mu.Lock()
	c.writes = append(c.writes, "status "+status+": "+describe(entries))
	c.mu.Unlock()
	return c.Journal.SetStatus(ctx, status, entries...)
}

func runJournaled(t *testing.T, src string, cj *countingJournal) *Outcome {
	t.Helper()
	j, err := journal.NewMemoryStore().Create(context.Background(), journal.Meta{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	cj.Journal = j
	out, _, _ := runWith(t, src, Inputs{}, Options{Journal: cj})
	return out
}

// The journal is written before every write to the cluster (an undo
// record), when a stage starts after one whose loss would change a resume
// (a command without records), and once at the end with the status; the
// other news rides along. Nothing is lost: every entry is in the journal,
// in order.
func TestJournalWritesOnlyWhatMatters(t *testing.T) {
	cj := &countingJournal{}
	out := runJournaled(t, `
pipeline "p" { parallelism = 1 }
stage "check" {
  look {}
}
stage "write" {
  depends_on = [stage.check]
  step { value = "w" }
}
stage "command" {
  depends_on = [stage.write]
  plain {}
}
stage "after" {
  depends_on = [stage.command]
  look {}
}
`, cj)
	if out.Result != events.Succeeded {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	want := []string{
		"append: stage check started, stage check succeeded, stage write started, record write",
		"append: stage write succeeded, stage command started, stage command succeeded, stage after started",
		"status succeeded: stage after succeeded, result ",
	}
	if !reflect.DeepEqual(cj.writes, want) {
		t.Fatalf("journal writes:\n%s\nwant:\n%s", strings.Join(cj.writes, "\n"), strings.Join(want, "\n"))
	}
	entries, _ := cj.Journal.Entries(context.Background())
	if got := describe(entries); got != "stage check started, stage check succeeded, stage write started, record write, "+
		"stage write succeeded, stage command started, stage command succeeded, stage after started, stage after succeeded, result " {
		t.Fatalf("journal holds %s", got)
	}
}

// A stage that runs a while gets its news written even when it writes
// nothing, so `cutover status` shows it running.
func TestJournalFlushesTheNewsOfALongStage(t *testing.T) {
	defer func(d time.Duration) { journalFlushAfter = d }(journalFlushAfter)
	journalFlushAfter = 5 * time.Millisecond
	gate := make(chan struct{})
	lookGates.Store("flushed", gate)
	defer lookGates.Delete("flushed")
	var once sync.Once
	cj := &countingJournal{onWrite: func(entries []journal.Entry) {
		for _, e := range entries {
			if e.Stage == "slow" && e.Status == "started" {
				once.Do(func() { close(gate) }) // the slow stage ends once its start is durable
			}
		}
	}}
	out := runJournaled(t, `
pipeline "p" {}
stage "slow" {
  look { until = "flushed" }
}
`, cj)
	if out.Result != events.Succeeded {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	if len(cj.writes) != 2 || cj.writes[0] != "append: stage slow started" {
		t.Fatalf("journal writes: %q; want the start flushed while the stage ran, then the end", cj.writes)
	}
}
