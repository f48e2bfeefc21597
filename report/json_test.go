package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/cutoverhq/cutover/events"
)

func TestJSONLinesParseBack(t *testing.T) {
	var b bytes.Buffer
	s := events.Redact(secrets, NewJSON(&b))
	evs := failedRun()
	play(s, evs)
	if err := Close(s); err != nil {
		t.Fatal(err)
	}
	noSecrets(t, "JSON lines", b.Bytes())
	sc := bufio.NewScanner(&b)
	i := 0
	for sc.Scan() {
		var got struct {
			events.Event
			Elapsed float64 `json:"elapsed_seconds"`
			Delay   float64 `json:"delay_seconds"`
		}
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, sc.Bytes())
		}
		if i >= len(evs) {
			t.Fatalf("more lines than events")
		}
		want := evs[i]
		if got.Type != want.Type || got.Stage != want.Stage || !got.Time.Equal(want.Time) || got.Attempt != want.Attempt {
			t.Errorf("line %d: got %s/%s/%v/%d, want %s/%s/%v/%d", i+1, got.Type, got.Stage, got.Time, got.Attempt, want.Type, want.Stage, want.Time, want.Attempt)
		}
		if got.Delay != want.Delay.Seconds() || got.Elapsed != want.Elapsed.Seconds() {
			t.Errorf("line %d: delay/elapsed %v/%v, want %v/%v", i+1, got.Delay, got.Elapsed, want.Delay.Seconds(), want.Elapsed.Seconds())
		}
		i++
	}
	if i != len(evs) {
		t.Fatalf("%d lines for %d events", i, len(evs))
	}
}
