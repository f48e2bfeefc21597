package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/events"
)

// The rate limit of progress lines: a crash-looping pod's restart count
// moves every second, and the same pod in the same state is said again
// once per ReasonEvery (30s), with the newest count; another pod, another
// reason, or a move of what the stage waits for (its first clause) is
// said at once, or within ProgressEvery (2s). The JSON stream has every
// message.
func TestProgressLinesOfAStuckPod(t *testing.T) {
	const sts = "statefulset/demo: %d of 3 pods ready"
	crash := func(pod string, n int) string {
		return fmt.Sprintf(sts+"; pod %s CrashLoopBackOff: container demo restarted %d times, last exit code 1 (Error)", 1, pod, n)
	}
	evs := []events.Event{
		{Type: events.RunStarted, Time: at(0), RunID: "r-9", Pipeline: "p", Stages: []events.Stage{{Name: "canary"}}},
		{Type: events.StageStarted, Time: at(0), Stage: "canary", Attempt: 1},
		{Type: events.StageProgress, Time: at(0.1), Stage: "canary", Message: fmt.Sprintf(sts, 1)},
	}
	progress := func(sec float64, msg string) {
		evs = append(evs, events.Event{Type: events.StageProgress, Time: at(sec), Stage: "canary", Message: msg})
	}
	for n := 2; n <= 33; n++ { // one restart a second from 1s
		progress(float64(n-1), crash("demo-2", n))
	}
	progress(33, crash("demo-1", 33)) // another pod: at once
	image := fmt.Sprintf(sts+"; pod demo-1 ImagePullBackOff: container demo image demo:v9", 1)
	progress(34, image)                                         // another reason: at once
	progress(35, strings.Replace(image, "1 of 3", "2 of 3", 1)) // what it waits for moved, 1s later: held
	progress(36.5, strings.Replace(image, "1 of 3", "2 of 3", 1))
	progress(37, strings.Replace(image, "1 of 3", "0 of 3", 1)) // held, shown before the failure
	evs = append(evs, events.Event{Type: events.StageFailed, Time: at(40), Stage: "canary", Attempt: 1, Error: "boom"})

	var js bytes.Buffer
	play(NewJSON(&js), evs)
	if n := strings.Count(js.String(), `"type":"stage_progress"`); n != 38 {
		t.Errorf("JSON has %d progress events, want all 38", n)
	}
	lines := func(evs []events.Event) []string {
		var text bytes.Buffer
		play(NewText(&text, Options{}), evs)
		var got []string
		for _, l := range strings.Split(text.String(), "\n") {
			if _, msg, ok := strings.Cut(l, "progress: "); ok {
				got = append(got, strings.Fields(l)[0]+" "+msg)
			}
		}
		return got
	}
	got := lines(evs)
	want := []string{
		"0.1s " + fmt.Sprintf(sts, 1),
		"1.0s " + crash("demo-2", 2),
		"31.0s " + crash("demo-2", 32), // 30s on, the newest count
		"33.0s " + crash("demo-1", 33),
		"34.0s " + image,
		"36.5s " + strings.Replace(image, "1 of 3", "2 of 3", 1),
		"40.0s " + strings.Replace(image, "1 of 3", "0 of 3", 1),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A failure that ends with what the wait saw last (kube's "last
	// seen: …") is not preceded by the same words as progress.
	evs[len(evs)-1].Error = "deadline passed; last seen: " + evs[len(evs)-2].Message
	if got := lines(evs); len(got) != len(want)-1 || got[len(got)-1] != want[len(want)-2] {
		t.Errorf("progress lines before a failure that says the last one:\n%s", strings.Join(got, "\n"))
	}
}

// A word with digits is a count when its letters are a duration's units,
// else a name: pods demo-1 and demo-2 are two shapes.
func TestShapeTellsCountsFromNames(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"ready 3/10", "ready 4/10", true},
		{"not ready for 40s", "not ready for 1m5s", true},
		{"until 12:05:03 UTC", "until 12:06:00 UTC", true},
		{"pod demo-1 CrashLoopBackOff", "pod demo-2 CrashLoopBackOff", false},
		{"pod web-5d9f8-x2k4q failing", "pod web-5d9f8-x7k4q failing", false},
		{"image demo:v2", "image demo:v3", false},
	} {
		if same := shape(c.a) == shape(c.b); same != c.same {
			t.Errorf("shape(%q) == shape(%q): %v, want %v", c.a, c.b, same, c.same)
		}
	}
}
