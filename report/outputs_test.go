package report

import (
	"encoding/json"
	"slices"
	"testing"
)

// A null output reads null in the summary's lines, not "name = " (which
// looks like an empty string); strings are as they are, the rest JSON.
func TestOutputLines(t *testing.T) {
	got := OutputLines(json.RawMessage(`{"seen": null, "empty": "", "images": {}, "v": "v2"}`))
	want := []string{`empty = `, `images = {}`, `seen = null`, `v = v2`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// the dotenv form keeps null as the empty string
	for _, o := range parseOutputs(json.RawMessage(`{"seen": null}`)) {
		if o.value != "" {
			t.Errorf("value %q", o.value)
		}
	}
}
