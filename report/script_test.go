package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// The secrets of the scripted run. The script leaks them into messages on
// purpose (a server echoing a token, a command printing a key line) to prove
// the renderers mask what the engine missed.
const token = "s3cr3t-token"

var (
	keyLine = "MIIEpAIBAAKCAQEA7x"
	secrets = []string{token, "-----BEGIN KEY-----\n" + keyLine + "\n-----END KEY-----"}
	t0      = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// failedRun is a blue/green run in which a retry succeeds, the gate fails
// while a notification runs in parallel, dependants are skipped and the
// undo of the deployment fails.
func failedRun() []events.Event {
	ev := func(sec float64, typ events.Type, stage string, f func(*events.Event)) events.Event {
		e := events.Event{Type: typ, Time: at(sec), RunID: "r-42", Pipeline: "checkout", Stage: stage}
		if f != nil {
			f(&e)
		}
		return e
	}
	attempt := func(n int) func(*events.Event) { return func(e *events.Event) { e.Attempt = n } }
	msg := func(m string) func(*events.Event) { return func(e *events.Event) { e.Message = m } }
	pos := func(line int) func(*events.Event) {
		return func(e *events.Event) { e.File, e.Line, e.Attempt = "pipelines/checkout/main.hcl", line, 1 }
	}
	return []events.Event{
		ev(0, events.RunStarted, "", func(e *events.Event) {
			e.Stages = []events.Stage{
				{Name: "lint", Kind: "lint", File: "pipelines/checkout/main.hcl", Line: 10},
				{Name: "deploy_green", Kind: "deploy", DependsOn: []string{"lint"}, File: "pipelines/checkout/main.hcl", Line: 14},
				{Name: "verify_green", Kind: "verify", DependsOn: []string{"deploy_green"}, File: "pipelines/checkout/main.hcl", Line: 30},
				{Name: "notify", Kind: "http", DependsOn: []string{"deploy_green"}, File: "pipelines/checkout/main.hcl", Line: 36},
				{Name: "switch", Kind: "switch_selector", DependsOn: []string{"verify_green"}, File: "pipelines/checkout/main.hcl", Line: 40},
				{Name: "retire_blue", Kind: "scale", DependsOn: []string{"switch"}, File: "pipelines/checkout/main.hcl", Line: 48},
			}
		}),
		ev(0.1, events.StageStarted, "lint", attempt(1)),
		ev(0.4, events.StageSucceeded, "lint", func(e *events.Event) { e.Attempt, e.Elapsed = 1, 300*time.Millisecond }),
		ev(0.5, events.StageStarted, "deploy_green", attempt(1)),
		ev(1.0, events.StageProgress, "deploy_green", msg("ready replicas 0/3")),
		ev(1.5, events.StageProgress, "deploy_green", msg("ready replicas 1/3")), // rate limited
		ev(3.2, events.StageProgress, "deploy_green", msg("ready replicas 2/3")), // 2s later: printed
		ev(3.3, events.StageProgress, "deploy_green", msg("ready replicas 2/3")), // identical
		ev(3.9, events.StageProgress, "deploy_green", msg("ready replicas 1/3")), // limited, shown before the retry
		ev(4.0, events.StageRetrying, "deploy_green", func(e *events.Event) {
			e.Attempt, e.Delay = 1, 2*time.Second
			e.Error = "apply Deployment shop/checkout-green: Patch \"https://10.0.0.1/apis\": connection reset by peer (token " + token + ")"
		}),
		ev(6.0, events.StageStarted, "deploy_green", attempt(2)),
		ev(7.0, events.StageProgress, "deploy_green", msg("waiting for Deployment shop/checkout-green to roll out")),
		ev(9.0, events.StageSucceeded, "deploy_green", func(e *events.Event) {
			e.Attempt, e.Output = 2, json.RawMessage(`{"revision":"3"}`)
		}),
		ev(9.1, events.StageStarted, "verify_green", attempt(1)),
		ev(9.1, events.StageStarted, "notify", attempt(1)),
		ev(9.5, events.StageProgress, "notify", msg("POST https://hooks.example/deploy key="+keyLine)),
		ev(10.0, events.StageProgress, "verify_green", msg("analysis healthy 1/6 successful")),
		ev(11.0, events.StageSucceeded, "notify", attempt(1)),
		ev(12.0, events.StageProgress, "verify_green", msg("analysis healthy 2/6 successful, 1 failed")),
		ev(14.0, events.StageFailed, "verify_green", func(e *events.Event) {
			pos(30)(e)
			e.Error = "analysis healthy: 2 failed measurements (failure_limit 1)\nlast: GET http://checkout-preview/healthz returned 503"
		}),
		ev(14.0, events.StageSkipped, "switch", msg("dependency verify_green failed")),
		ev(14.0, events.StageSkipped, "retire_blue", msg("dependency switch was skipped")),
		ev(14.1, events.UndoStarted, "deploy_green", msg("restore Deployment shop/checkout-green")),
		ev(15.0, events.UndoFailed, "deploy_green", func(e *events.Event) {
			e.Error = "restore Deployment shop/checkout-green: deployments.apps \"checkout-green\" is forbidden: User \"ci\" cannot patch"
		}),
		ev(15.1, events.RunFinished, "", func(e *events.Event) {
			e.Result = events.UndoIncomplete
			e.Error = "stage verify_green failed (token " + token + ")"
			e.Elapsed = 15100 * time.Millisecond
			e.Outputs = json.RawMessage(`{"previous_version":"v1","echo":"` + token + `","green":{"replicas":3}}`)
			e.UndoPending = []string{"deploy_green: restore Deployment shop/checkout-green to its state before the run (undo failed: forbidden)"}
		}),
	}
}

// okRun is a short successful run with an output.
func okRun() []events.Event {
	return []events.Event{
		{Type: events.RunStarted, Time: at(0), RunID: "r-7", Pipeline: "hello", Stages: []events.Stage{{Name: "say", Kind: "exec"}, {Name: "bye", Kind: "exec", DependsOn: []string{"say"}}}},
		{Type: events.StageStarted, Time: at(0.1), Stage: "say", Kind: "exec", Attempt: 1},
		{Type: events.StageSucceeded, Time: at(0.2), Stage: "say", Attempt: 1, Output: json.RawMessage(`{"exit_code":0}`)},
		{Type: events.StageStarted, Time: at(0.2), Stage: "bye", Attempt: 1},
		{Type: events.StageSucceeded, Time: at(0.3), Stage: "bye", Attempt: 1},
		{Type: events.RunFinished, Time: at(0.3), RunID: "r-7", Result: events.Succeeded, Outputs: json.RawMessage(`{"said":"hello\nworld"}`)},
	}
}

// invalidRun is `validate` of a broken pipeline: diagnostics only.
func invalidRun() []events.Event {
	return []events.Event{
		{Type: events.DiagnosticEvent, Time: at(0), Diagnostic: &events.Diagnostic{Severity: "error", Summary: "Unknown stage", Detail: `There is no stage named "deploy_gren".`, File: "main.hcl", Line: 12, Column: 17, EndLine: 12, EndCol: 35}},
		{Type: events.DiagnosticEvent, Time: at(0), Diagnostic: &events.Diagnostic{Severity: "warning", Summary: "Deprecated attribute", File: "main.hcl", Line: 3, Column: 3}},
	}
}

func play(s events.Sink, evs []events.Event) {
	for _, e := range evs {
		s.Emit(e)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, "report", name, got, *update)
}

// noSecrets fails when any secret, or any line of one, appears in out.
func noSecrets(t *testing.T, where string, out []byte) {
	t.Helper()
	for _, s := range events.SecretParts(secrets) {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("%s contains the secret %q:\n%s", where, s, out)
		}
	}
	if strings.Contains(string(out), "BEGIN KEY") {
		t.Errorf("%s contains a line of the multi-line secret", where)
	}
}
