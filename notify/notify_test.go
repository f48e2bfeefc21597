package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

const secret = "s3cr3t-t0ken"

// release is a run that pauses, is approved, fails at a gate and is undone.
func release() []events.Event {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ev := func(e events.Event) events.Event {
		e.RunID, e.Pipeline = "r-42", "checkout"
		return e
	}
	return []events.Event{
		ev(events.Event{Type: events.RunStarted, Time: at(0)}),
		ev(events.Event{Type: events.StageStarted, Time: at(1), Stage: "deploy_green", Kind: "deploy"}),
		ev(events.Event{Type: events.StageProgress, Time: at(2), Stage: "deploy_green", Kind: "deploy", Message: "waiting for approval: cutover approve r-42 -n nope"}),
		ev(events.Event{Type: events.StageSucceeded, Time: at(3), Stage: "deploy_green", Kind: "deploy"}),
		ev(events.Event{Type: events.StageProgress, Time: at(4), Stage: "gate", Kind: "pause", Message: "Ship it? — waiting for approval: cutover approve r-42 -n shop (or abort), 1h0m0s left"}),
		ev(events.Event{Type: events.StageProgress, Time: at(5), Stage: "gate", Kind: "pause", Message: "Ship it? — waiting for approval: cutover approve r-42 -n shop (or abort), 1h0m0s left"}),
		ev(events.Event{Type: events.StageSucceeded, Time: at(6), Stage: "gate", Kind: "pause", Output: json.RawMessage(`{"answer":"approve","answered_by":"alice@laptop"}`)}),
		ev(events.Event{Type: events.StageFailed, Time: at(7), Stage: "verify", Kind: "verify", Error: "error rate 7% > 1% <critical> & token " + secret}),
		ev(events.Event{Type: events.UndoStarted, Time: at(8), Stage: "deploy_green", Kind: "deploy"}),
		ev(events.Event{Type: events.RunFinished, Time: at(9), Result: events.FailedUndone, Error: "stage verify: error rate 7% > 1%"}),
	}
}

type receiver struct {
	mu     sync.Mutex
	bodies map[string][]json.RawMessage
	hits   atomic.Int32
	status func(n int) int // the status of the nth request (1-based)
}

func newReceiver(t *testing.T, status func(int) int) (*receiver, string) {
	r := &receiver{bodies: map[string][]json.RawMessage{}, status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := int(r.hits.Add(1))
		b, _ := io.ReadAll(req.Body)
		if st := r.status(n); st != http.StatusOK {
			w.WriteHeader(st)
			return
		}
		if req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", req.Header.Get("Content-Type"))
		}
		r.mu.Lock()
		r.bodies[req.URL.Path] = append(r.bodies[req.URL.Path], b)
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

func ok(int) int { return http.StatusOK }

func play(n *Notifier, evs []events.Event) {
	for _, e := range evs {
		n.Emit(e)
	}
	n.Close()
}

var every = []string{Started, Paused, Resumed, Failed, Undone, Succeeded}

func TestFormatsGolden(t *testing.T) {
	rcv, base := newReceiver(t, ok)
	var warnings []string
	var targets []Target
	for _, f := range Formats() {
		targets = append(targets, Target{Name: f, Format: f, URL: base + "/" + f + "/" + secret, On: every})
	}
	n := New(targets, Options{
		Namespace: "shop", Cluster: "https://10.0.0.1:6443", Context: "prod",
		CI:      &CI{Provider: "github", URL: "https://github.com/acme/shop/actions/runs/7"},
		Secrets: []string{secret},
		Warn:    func(s string) { warnings = append(warnings, s) },
	})
	play(n, release())
	if len(warnings) > 0 {
		t.Fatalf("warnings: %q", warnings)
	}
	for _, f := range Formats() {
		got := rcv.bodies["/"+f+"/"+secret]
		// started, paused (once, and only the pause stage), resumed,
		// failed, undone.
		if len(got) != 5 {
			t.Fatalf("%s: %d bodies, want 5", f, len(got))
		}
		var all bytes.Buffer
		for _, b := range got {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s: the secret is in a body: %s", f, b)
			}
			if err := json.Indent(&all, b, "", "  "); err != nil {
				t.Fatalf("%s: not JSON: %v", f, err)
			}
			all.WriteString("\n")
		}
		golden(t, f+".golden.json", all.Bytes())
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, "notify", name, got, *update)
}

func TestWebhookMessageFields(t *testing.T) {
	rcv, base := newReceiver(t, ok)
	n := New([]Target{{Name: "hook", Format: "webhook", URL: base + "/h"}}, Options{Namespace: "shop"})
	play(n, release())
	var got []Message
	for _, b := range rcv.bodies["/h"] {
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	// The default subscription leaves out "started".
	var names []string
	for _, m := range got {
		names = append(names, m.Event+"/"+m.Scope+"/"+m.Stage)
	}
	if strings.Join(names, " ") != "paused/stage/gate resumed/stage/gate failed/stage/verify undone/run/verify" {
		t.Fatalf("events %v", names)
	}
	p := got[0]
	if p.Approve != "cutover approve r-42 gate -n shop" || p.Abort != "cutover abort r-42 gate -n shop" || p.Detail != "Ship it?" {
		t.Errorf("paused: %+v", p)
	}
	if got[1].Detail != "approved by alice@laptop" {
		t.Errorf("resumed: %+v", got[1])
	}
	if u := got[3]; u.Result != "failed, undone" || u.Pipeline != "checkout" || u.Run != "r-42" || u.Schema != Schema || u.Namespace != "shop" {
		t.Errorf("undone: %+v", u)
	}
}

func TestRetriesOn5xxThenDelivers(t *testing.T) {
	rcv, base := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	var warnings []string
	n := New([]Target{{Name: "hook", Format: "webhook", URL: base + "/h", On: []string{Undone}}},
		Options{Retry: 10 * time.Millisecond, Warn: func(s string) { warnings = append(warnings, s) }})
	play(n, release())
	if len(warnings) > 0 || rcv.hits.Load() != 3 || len(rcv.bodies["/h"]) != 1 {
		t.Fatalf("%d requests, %d delivered, warnings %q; want 3, 1, none", rcv.hits.Load(), len(rcv.bodies["/h"]), warnings)
	}
}

func TestClientErrorIsFinal(t *testing.T) {
	rcv, base := newReceiver(t, func(int) int { return http.StatusNotFound })
	var warnings []string
	n := New([]Target{{Name: "hook", Format: "slack", URL: base + "/T000/B000/" + secret, On: []string{Undone}}},
		Options{Retry: 10 * time.Millisecond, Secrets: []string{secret}, Warn: func(s string) { warnings = append(warnings, s) }})
	play(n, release())
	if rcv.hits.Load() != 1 || len(warnings) != 1 {
		t.Fatalf("%d requests, warnings %q; want 1 and one warning", rcv.hits.Load(), warnings)
	}
	w := warnings[0]
	if !strings.Contains(w, `notify "hook" (slack)`) || !strings.Contains(w, "404") || strings.Contains(w, "T000") || strings.Contains(w, "127.0.0.1") {
		t.Errorf("warning %q: want the block and status named, no URL", w)
	}
}

// A receiver that accepts connections and never answers costs each message
// its timeout at most; once one has failed, the next get one attempt.
func TestDeadReceiverIsBounded(t *testing.T) {
	hang := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	var mu sync.Mutex
	var warnings []string
	n := New([]Target{{Name: "dead", Format: "teams", URL: srv.URL, On: every, Timeout: 300 * time.Millisecond}},
		Options{Retry: 10 * time.Millisecond, Warn: func(s string) { mu.Lock(); warnings = append(warnings, s); mu.Unlock() }})
	closed := make(chan struct{})
	go func() { play(n, release()); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return: a dead receiver held the run")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 5 {
		t.Fatalf("warnings %q: want one per message (5)", warnings)
	}
	if !strings.Contains(warnings[0], "no answer before the notification's timeout") {
		t.Errorf("first warning %q", warnings[0])
	}
}

func TestConnectionRefusedIsRetriedThenWarned(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var warnings []string
	n := New([]Target{{Name: "gone", Format: "webhook", URL: url, On: []string{Undone}, Timeout: time.Second}},
		Options{Retry: 20 * time.Millisecond, Warn: func(s string) { warnings = append(warnings, s) }})
	play(n, release())
	// The deadline may cut the last attempt short (it then says no answer
	// came in time): the refusals before it are still named.
	if len(warnings) != 1 || !strings.Contains(warnings[0], "connection refused") {
		t.Fatalf("warnings %q", warnings)
	}
	// A second of attempts 20, 40, 80, 160 ms … apart: more than one.
	if strings.Contains(warnings[0], "(1 attempt ") {
		t.Errorf("not retried: %q", warnings[0])
	}
}

// A receiver that reset the first connection and then never answered: the
// deadline ends the last attempt, and the warning still says what the
// earlier one met.
func TestWarningNamesWhatCameBeforeTheDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		for first := true; ; first = false {
			c, err := l.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			if first {
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
				continue
			}
			held = append(held, c)
		}
	}()
	var warnings []string
	n := New([]Target{{Name: "flaky", Format: "webhook", URL: "http://" + l.Addr().String(), On: []string{Undone}, Timeout: 500 * time.Millisecond}},
		Options{Retry: 20 * time.Millisecond, Warn: func(s string) { warnings = append(warnings, s) }})
	play(n, release())
	if len(warnings) != 1 || !strings.Contains(warnings[0], "no answer before the notification's timeout; before that: request failed:") ||
		!strings.Contains(warnings[0], "reset") {
		t.Fatalf("warnings %q", warnings)
	}
}

// A fleet's share names its stage NAME["TARGET"], which approve does not
// take: the message answers with --target and the pipeline, as the pause
// step said.
func TestPausedInAFleetShare(t *testing.T) {
	var tr translator
	m, ok := tr.message(events.Event{Type: events.StageProgress, Stage: `gate["eu"]`, Kind: "pause", RunID: "r-1",
		Message: "waiting for approval: cutover approve r-1 gate --target eu /ci/p -n shop (or abort), 1m0s left"})
	if !ok || m.Approve != "cutover approve r-1 gate --target eu /ci/p -n shop" || m.Abort != "cutover abort r-1 gate --target eu /ci/p -n shop" {
		t.Errorf("paused in a share: %v %+v", ok, m)
	}
}
