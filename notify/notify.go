// Package notify tells people about a run: it consumes the event stream
// the renderers of package report consume, and POSTs a message for each
// event a notify block subscribes to (a webhook's JSON, Slack, Microsoft
// Teams; one file per format). Delivery runs beside the run, retried on
// 5xx and connection errors within a bounded time, and never fails or
// holds a release: what cannot be delivered is a warning
// (docs/notifications.md).
package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/defaults"
)

// DefaultTimeout bounds the delivery of one message, retries included, and
// so how long a run waits for its notifications after its end.
const DefaultTimeout = defaults.NotifyTimeout

// Target is an evaluated notify block.
type Target struct {
	Name    string // the block's label, which warnings name (never the URL)
	Format  string
	URL     string
	Headers map[string]string
	On      []string
	Timeout time.Duration // 0: DefaultTimeout
}

// Options describe the run every message is about, and how to report.
type Options struct {
	Namespace, Cluster, Context string
	CI                          *CI
	// Secrets are masked in every body (events.Redactor).
	Secrets []string
	// Warn reports a message that could not be delivered; the text names
	// the notify block, never its URL.
	Warn func(string)
	// Transport and Retry are for tests: the transport to clone, and the
	// first delay between attempts (default 250 ms, doubling to 2 s).
	Transport *http.Transport
	Retry     time.Duration
}

// Notifier is an events.Sink that delivers notifications. Call Close when
// the run is over: it waits for what is still being delivered.
type Notifier struct {
	opts    Options
	red     events.Redactor
	tr      translator
	senders []*sender
	mu      sync.Mutex // Emit is called from the stages' goroutines
	wg      sync.WaitGroup
}

// New starts a sender per target; it sends nothing until an event comes.
func New(targets []Target, o Options) *Notifier {
	if o.Warn == nil {
		o.Warn = func(string) {}
	}
	if o.Retry <= 0 {
		o.Retry = 250 * time.Millisecond
	}
	n := &Notifier{opts: o, red: events.NewRedactor(o.Secrets)}
	for _, t := range targets {
		if t.Timeout <= 0 {
			t.Timeout = DefaultTimeout
		}
		if len(t.On) == 0 {
			t.On = DefaultOn
		}
		f, ok := Lookup(t.Format)
		if !ok {
			continue // load refuses an unknown format
		}
		s := newSender(t, f, n)
		n.senders = append(n.senders, s)
		n.wg.Add(1)
		go func() { defer n.wg.Done(); s.loop() }()
	}
	return n
}

// Emit queues a message for every target subscribed to what e means. It
// never waits for a receiver.
func (n *Notifier) Emit(e events.Event) {
	n.mu.Lock()
	m, ok := n.tr.message(e)
	n.mu.Unlock()
	if !ok {
		return
	}
	m.Namespace, m.Cluster, m.Context, m.CI = n.opts.Namespace, n.opts.Cluster, n.opts.Context, n.opts.CI
	for _, s := range n.senders {
		if slices.Contains(s.target.On, m.Event) {
			s.enqueue(m)
		}
	}
}

// Close stops taking messages and waits for the queued ones: each is given
// up at its own deadline (its target's timeout after it was queued), so a
// dead receiver holds the end of a run for one timeout at most.
func (n *Notifier) Close() {
	for _, s := range n.senders {
		s.close()
	}
	n.wg.Wait()
}

// body renders m for a format, with every secret masked.
func (n *Notifier) body(f Format, m Message) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // receivers read JSON, not HTML: <, > and & as they are
	if err := enc.Encode(f.Body(m)); err != nil {
		return nil, fmt.Errorf("rendering the %s message: %w", f.Name(), err)
	}
	return n.red.JSON(bytes.TrimSpace(b.Bytes())), nil
}
