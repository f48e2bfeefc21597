package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/journal"
	"github.com/zclconf/go-cty/cty"
)

type boundKind struct {
	plainKind
	d time.Duration
}

func (k boundKind) Bound(cty.Value) time.Duration { return k.d }

func TestResumedWaitKeepsTheJournaledEnd(t *testing.T) {
	st := &Stage{Kind: boundKind{d: time.Hour}}
	now := time.Now()
	if got := resumedWait(st, cty.NilVal, now.Add(10*time.Minute)); !got.Equal(now.Add(10 * time.Minute)) {
		t.Fatalf("a resumed wait ends when the journal said: %v", got)
	}
	past := now.Add(-time.Minute)
	if got := resumedWait(st, cty.NilVal, past); !got.Equal(past) {
		t.Fatalf("a deadline passed ends the wait at once: %v", got)
	}
	if got := resumedWait(st, cty.NilVal, now.Add(48*time.Hour)); got.After(time.Now().Add(time.Hour)) {
		t.Fatalf("never more than the bound from now: %v", got)
	}
	if !resumedWait(st, cty.NilVal, time.Time{}).IsZero() {
		t.Fatalf("not resumed: no end of its own")
	}
	if !resumedWait(&Stage{Kind: plainKind{}}, cty.NilVal, now.Add(time.Minute)).IsZero() {
		t.Fatalf("a kind without a bound of its own keeps its per-attempt rules")
	}
}

func TestCheckResumedRefusesADeadlineBeforeItsStart(t *testing.T) {
	at := time.Date(2026, 12, 3, 21, 25, 0, 0, time.UTC)
	ok := []journal.Entry{{Kind: journal.KindStage, Stage: "gate", Status: "started", Attempt: 1, Time: at, Deadline: at.Add(time.Hour)}}
	if err := checkResumed(ok); err != nil {
		t.Fatal(err)
	}
	bad := []journal.Entry{{Kind: journal.KindStage, Stage: "gate", Status: "started", Attempt: 1, Time: at, Deadline: at.Add(-time.Hour)}}
	err := checkResumed(bad)
	if err == nil || !strings.Contains(err.Error(), "attempt 1 of stage gate started at 2026-12-03T21:25:00Z and ends at 2026-12-03T20:25:00Z, before it started") {
		t.Fatalf("got %v", err)
	}
	noTime := []journal.Entry{{Kind: journal.KindStage, Stage: "gate", Status: "started", Attempt: 1, Deadline: at}}
	if err := checkResumed(noTime); err == nil {
		t.Fatalf("a deadline without a start is refused")
	}
}
