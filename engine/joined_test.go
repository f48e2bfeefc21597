package engine

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
)

// TestJoinedOutputs: the outputs `cutover join` prints come from the
// shares' journals alone, as the run of every target evaluates them:
// sensitive ones masked, and one that reads a target not joined left out
// and named, never an error text as value.
func TestJoinedOutputs(t *testing.T) {
	src := fleetPipeline + `
variable "token" {
  default   = "hush"
  sensitive = true
}
output "with_token" { value = "${stage.verify["canary"].output.value}/${var.token}" }
output "marked" {
  value     = stage.verify["eu-1"].output.value
  sensitive = true
}
output "us" { value = stage.verify["us-1"].output.value }
`
	l := newLog()
	p, diags := load(t, l, map[string]string{"p.hcl": src}, Inputs{})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	fo := FleetOptions{RunID: "r1", Shares: map[string]Options{}}
	store := journal.NewMemoryStore()
	js := map[string]journal.Journal{}
	for _, name := range p.TargetNames() {
		j, err := store.Create(context.Background(), journal.Meta{RunID: "r1-" + name, Pipeline: "p", Target: name})
		if err != nil {
			t.Fatal(err)
		}
		js[name] = j
		fo.Shares[name] = Options{Journal: j, Namespace: name}
	}
	out, err := p.RunFleet(context.Background(), fo)
	if err != nil || out.Result != events.Succeeded {
		t.Fatalf("run: %v %v", out.Result, err)
	}
	entries := func(names ...string) map[string][]journal.Entry {
		m := map[string][]journal.Entry{}
		for _, n := range names {
			es, err := js[n].Entries(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			m[n] = es
		}
		return m
	}

	raw, note := p.JoinedOutputs(entries("canary", "eu-1", "us-1"))
	want := map[string]string{"canary": "canary:canary", "with_token": events.Mask, "marked": events.Mask, "us": "us-1:-"}
	var got map[string]string
	if err := json.Unmarshal(raw, &got); err != nil || !reflect.DeepEqual(got, want) || note != "" {
		t.Fatalf("every target: %s (%v), note %q; want %v", raw, err, note, want)
	}
	if strings.Contains(string(raw), "hush") {
		t.Fatalf("a secret in the outputs: %s", raw)
	}

	// The canary wave joined alone: what reads the rest is left out.
	raw, note = p.JoinedOutputs(entries("canary"))
	got = nil
	if err := json.Unmarshal(raw, &got); err != nil || !reflect.DeepEqual(got, map[string]string{"canary": "canary:canary", "with_token": events.Mask}) {
		t.Fatalf("canary only: %s (%v)", raw, err)
	}
	if !strings.HasPrefix(note, "outputs marked, us left out: they cannot be evaluated from the targets this join read") {
		t.Fatalf("note %q", note)
	}
}
