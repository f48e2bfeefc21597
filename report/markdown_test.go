package report

import (
	"github.com/cutoverhq/cutover/events"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummaryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	s := events.Redact(secrets, NewSummary(path))
	play(s, failedRun())
	if err := Close(s); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	noSecrets(t, "summary", b)
	md := string(b)
	for _, want := range []string{
		"## cutover: checkout — ❌ failed, undo incomplete\n",
		"| `verify_green` | verify | ❌ failed | 4.9s | 1 |   | analysis healthy: 2 failed measurements (failure_limit 1)<br>last: GET http://checkout-preview/healthz returned 503 |\n",
		"| `deploy_green` | deploy | ✅ succeeded | 8.5s | 2 | ❌ undo failed (restore Deployment shop/checkout-green): restore Deployment",
		"### ⚠️ Left for a person",
		"```mermaid\nflowchart LR\n",
		`  s2["verify_green<br/>failed 4.9s"]:::failed`,
		`  s1["deploy_green<br/>succeeded 8.5s<br/>undo failed"]:::undofailed`,
		"  s1 --> s2\n",
		"| `previous_version` | v1 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("missing %q in:\n%s", want, md)
		}
	}
	golden(t, "summary.golden.md", b)
}
