package notify

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/steps/pause"
)

// What a notify block can subscribe to (`on`); docs/notifications.md.
const (
	Started   = "started"   // the run started
	Paused    = "paused"    // a pause stage waits for `cutover approve`
	Resumed   = "resumed"   // a paused stage was approved
	Failed    = "failed"    // a stage failed, or the run ended with something left
	Undone    = "undone"    // the run ended with everything undone
	Succeeded = "succeeded" // the run succeeded
)

// Events lists every subscribable event, in the order a run meets them.
var Events = []string{Started, Paused, Resumed, Failed, Undone, Succeeded}

// DefaultOn is what a notify block without `on` hears: whatever asks for
// a person, and how the run ended; not every start.
var DefaultOn = []string{Paused, Resumed, Failed, Undone, Succeeded}

// Schema names the version of Message's JSON, the body of the webhook
// format; fields are added, never renamed.
const Schema = "cutover.dev/notification.v1"

// Message is one notification: the webhook format's body, and what every
// other format renders.
type Message struct {
	Schema    string    `json:"schema"`
	Event     string    `json:"event"`
	Scope     string    `json:"scope"` // "run" or "stage"
	Text      string    `json:"text"`  // one line for people
	Time      time.Time `json:"time"`
	Pipeline  string    `json:"pipeline"`
	Run       string    `json:"run"`
	Namespace string    `json:"namespace,omitempty"`
	// Cluster is the API server's address, Context the kubeconfig context.
	Cluster string `json:"cluster,omitempty"`
	Context string `json:"context,omitempty"`
	Stage   string `json:"stage,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Result  string `json:"result,omitempty"`
	Error   string `json:"error,omitempty"`
	// Detail is the pause stage's message, or who answered it.
	Detail string `json:"message,omitempty"`
	// Approve and Abort are the commands that answer a paused stage.
	Approve     string   `json:"approve,omitempty"`
	Abort       string   `json:"abort,omitempty"`
	CI          *CI      `json:"ci,omitempty"`
	UndoPending []string `json:"undo_pending,omitempty"`
}

// CI is the job the run belongs to.
type CI struct {
	Provider string `json:"provider"` // github | gitlab | jenkins
	URL      string `json:"url"`
}

// Fact is a name and a value shown beside a message's text.
type Fact struct{ Name, Value string }

// Facts are the message's fields that formats show as a list, in order,
// empty ones left out.
func (m Message) Facts() []Fact {
	var out []Fact
	for _, f := range []Fact{
		{"Pipeline", m.Pipeline}, {"Run", m.Run}, {"Stage", m.Stage}, {"Result", m.Result},
		{"Namespace", m.Namespace}, {"Cluster", m.Cluster}, {"Context", m.Context},
	} {
		if f.Value != "" {
			out = append(out, f)
		}
	}
	return out
}

// translator turns the run's events into messages. It remembers what a
// later message needs: which stages are paused, and the first failure,
// which the run's last message names.
type translator struct {
	paused    map[string]bool
	failStage string
	ending    events.Ending // whether the run's undo had anything to undo
}

func (t *translator) message(e events.Event) (Message, bool) {
	m := Message{Schema: Schema, Time: e.Time, Pipeline: e.Pipeline, Run: e.RunID, Stage: e.Stage, Kind: e.Kind, Scope: "stage"}
	t.ending.Add(e)
	switch e.Type {
	case events.RunStarted:
		m.Event, m.Scope, m.Stage = Started, "run", ""
		m.Text = fmt.Sprintf("%s: run %s started", e.Pipeline, e.RunID)
		if e.Message == events.ResumeRun {
			m.Text = fmt.Sprintf("%s: run %s resumed", e.Pipeline, e.RunID)
		}
		if e.Message == events.UndoRun {
			m.Text = fmt.Sprintf("%s: undo of run %s started", e.Pipeline, e.RunID)
		}
	case events.StageProgress:
		detail, ns, targetArgs, ok := pause.Waiting(e.Message)
		if e.Kind != "pause" || !ok || t.paused[e.Stage] {
			return m, false
		}
		if t.paused == nil {
			t.paused = map[string]bool{}
		}
		t.paused[e.Stage] = true
		m.Event, m.Detail = Paused, detail
		m.Approve = pause.Command("approve", e.RunID, e.Stage, ns)
		m.Abort = pause.Command("abort", e.RunID, e.Stage, ns)
		if targetArgs != "" {
			// A fleet's share: e.Stage is NAME["TARGET"], which approve
			// does not take; the step said how to answer in its cluster.
			m.Approve, m.Abort = "cutover approve "+targetArgs, "cutover abort "+targetArgs
		}
		m.Text = fmt.Sprintf("%s: stage %s waits for approval", e.Pipeline, e.Stage)
	case events.StageSucceeded:
		if !t.paused[e.Stage] {
			return m, false
		}
		delete(t.paused, e.Stage)
		var out struct {
			By string `json:"answered_by"`
		}
		_ = json.Unmarshal(e.Output, &out)
		m.Event, m.Detail = Resumed, "approved by "+out.By
		m.Text = fmt.Sprintf("%s: stage %s approved by %s, the run goes on", e.Pipeline, e.Stage, out.By)
	case events.StageFailed:
		delete(t.paused, e.Stage)
		if t.failStage == "" {
			t.failStage = e.Stage
		}
		m.Event, m.Error = Failed, e.Error
		m.Text = fmt.Sprintf("%s: stage %s failed", e.Pipeline, e.Stage)
	case events.RunFinished:
		m.Scope, m.Stage, m.Kind, m.Result, m.Error, m.UndoPending = "run", t.failStage, "", string(e.Result), e.Error, e.UndoPending
		m.Event, m.Text = t.finished(e)
	default:
		return m, false
	}
	return m, true
}

// finished names how a run ended, as the run's summary tells it
// (events.Ending): succeeded; undone, or with nothing to undo; or failed
// with something left for a person.
func (t *translator) finished(e events.Event) (event, text string) {
	run := fmt.Sprintf("%s: run %s", e.Pipeline, e.RunID)
	if t.ending.DryRun {
		// Told as the summary tells it: a rehearsal released nothing.
		run = fmt.Sprintf("%s: dry run %s", e.Pipeline, e.RunID)
	}
	failed := run + " failed"
	if t.failStage != "" {
		failed = fmt.Sprintf("%s failed at stage %s", run, t.failStage)
	}
	undone := "everything undone"
	if t.ending.NothingUndone() {
		undone = events.NothingToUndo
	}
	switch e.Result {
	case events.Succeeded:
		return Succeeded, run + " succeeded"
	case events.Undone:
		return Undone, run + " undone"
	case events.FailedUndone:
		return Undone, failed + ", " + undone
	case events.Interrupted:
		return Undone, run + " interrupted, " + undone
	case events.FailedStopped:
		return Failed, failed + `, nothing undone (on_failure = "stop")`
	case events.UndoIncomplete: // undo_pending lists what is left
		if t.ending.UndoOfRun() {
			// `cutover undo RUN` of a run that may have succeeded: the
			// undo, not the release, is what did not finish.
			return Failed, run + ": undo incomplete"
		}
		return Failed, failed + ", undo incomplete"
	}
	return Failed, fmt.Sprintf("%s ended: %s", run, e.Result)
}
