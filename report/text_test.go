package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestTextFailedRun(t *testing.T) {
	var b bytes.Buffer
	s := NewText(&b, Options{Secrets: secrets})
	play(s, failedRun())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	noSecrets(t, "text output", b.Bytes())
	for _, want := range []string{
		"   0.5s  deploy_green     started (attempt 1)\n",
		"progress: ready replicas 0/3\n",
		"retrying in 2s: apply Deployment shop/checkout-green",
		"failed: analysis healthy: 2 failed measurements (failure_limit 1) | last: GET",
		"Result: failed, undo incomplete in 15.1s",
		"Left for a person:\n  - deploy_green: restore Deployment",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// Rate limit: 1/3 at 1.5s comes 0.5s after 0/3 and is dropped; the
	// repeated 2/3 is dropped; the 1/3 suppressed at 3.9s is shown before
	// the retry line, so the log says what the attempt was waiting for.
	if n := strings.Count(out, "progress: ready replicas"); n != 3 {
		t.Errorf("want 3 progress lines for deploy_green, got %d:\n%s", n, out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colors without Options.Color")
	}
	golden(t, "text.golden", b.Bytes())
}

func TestTextColor(t *testing.T) {
	var b bytes.Buffer
	play(NewText(&b, Options{Color: true}), okRun())
	if !strings.Contains(b.String(), ansiGreen+"succeeded"+ansiReset) {
		t.Errorf("no green succeeded in:\n%q", b.String())
	}
}

func TestTextDiagnostics(t *testing.T) {
	var b bytes.Buffer
	s := NewText(&b, Options{})
	play(s, invalidRun())
	out := b.String()
	for _, want := range []string{
		"error: main.hcl:12,17: Unknown stage\n    There is no stage named \"deploy_gren\".\n",
		"warning: main.hcl:3,3: Deprecated attribute\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
