package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sethvargo/go-retry"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/internal/defaults"
)

// attemptTimeout bounds one request; the message's deadline bounds them all.
const attemptTimeout = defaults.NotifyAttempt

// maxDelay caps the exponential delay between attempts.
const maxDelay = defaults.NotifyMaxDelay

// sender delivers one target's messages in order (a "failed" before the
// "undone" that follows it), one at a time.
type sender struct {
	target Target
	format Format
	n      *Notifier
	client *http.Client

	mu     sync.Mutex
	queue  []queued
	closed bool
	wake   chan struct{}
	// down: the last message could not be delivered. The next ones get one
	// attempt each until one is, so a dead receiver costs each message one
	// connection, not a timeout of retries.
	down bool
}

type queued struct {
	m        Message
	deadline time.Time
}

func newSender(t Target, f Format, n *Notifier) *sender {
	s := &sender{target: t, format: f, n: n, wake: make(chan struct{}, 1)}
	o := callout.ClientOptions{Timeout: attemptTimeout, Transport: n.opts.Transport}
	if u, err := url.Parse(t.URL); err == nil && len(t.Headers) > 0 {
		// Credentials go to the receiver's origin only, never where it
		// redirects.
		o.Headers, o.Base = t.Headers, u
	}
	s.client = callout.NewClient(o)
	return s
}

func (s *sender) enqueue(m Message) {
	s.mu.Lock()
	if !s.closed {
		s.queue = append(s.queue, queued{m: m, deadline: time.Now().Add(s.target.Timeout)})
	}
	s.mu.Unlock()
	s.signal()
}

func (s *sender) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}

func (s *sender) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// next waits for a message; false once closed and drained.
func (s *sender) next() (queued, bool) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			q := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return q, true
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return queued{}, false
		}
		<-s.wake
	}
}

func (s *sender) loop() {
	for {
		q, ok := s.next()
		if !ok {
			return
		}
		s.deliver(q)
	}
}

// deliver POSTs one message, retrying 5xx, 429, 408 and connection errors
// with exponential backoff until its deadline.
func (s *sender) deliver(q queued) {
	start := time.Now()
	body, err := s.n.body(s.format, q.m)
	if err != nil {
		s.warn(q.m, err.Error())
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), q.deadline)
	defer cancel()
	var b retry.Backoff = retry.WithCappedDuration(maxDelay, retry.NewExponential(s.n.opts.Retry))
	if s.down {
		b = retry.WithMaxRetries(0, b)
	}
	attempts := 0
	// last is what the last attempt met; answered, what the last attempt
	// that was not cut short by the deadline met: a receiver that refused
	// every connection is named so even when the deadline ended the last
	// attempt (which then only says no answer came in time).
	var last, answered error
	err = retry.Do(ctx, b, func(ctx context.Context) error {
		attempts++
		var again bool
		if again, last = s.post(ctx, body); again {
			if ctx.Err() == nil {
				answered = last
			}
			return retry.RetryableError(last)
		}
		return last
	})
	if err == nil {
		s.down = false
		return
	}
	s.down = true
	if last == nil {
		s.warn(q.m, fmt.Sprintf("not sent: its %s passed while earlier notifications were being delivered", s.target.Timeout))
		return
	}
	tries := "1 attempt"
	if attempts > 1 {
		tries = fmt.Sprintf("%d attempts", attempts)
	}
	why := last.Error()
	if answered != nil && answered.Error() != why {
		why += "; before that: " + answered.Error()
	}
	s.warn(q.m, fmt.Sprintf("%s (%s in %s)", why, tries, time.Since(start).Round(10*time.Millisecond)))
}

func (s *sender) warn(m Message, why string) {
	what := fmt.Sprintf("%q notification", m.Event)
	if m.Scope == "stage" {
		what += " of stage " + m.Stage
	}
	s.n.opts.Warn(s.n.red.String(fmt.Sprintf("notify %q (%s): the %s was not delivered: %s", s.target.Name, s.format.Name(), what, why)))
}

// post makes one attempt, and says whether another may do better. Errors
// never quote the URL: an incoming webhook's address is its credential.
func (s *sender) post(ctx context.Context, body []byte) (again bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.target.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("the URL is not valid")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cutover")
	resp, err := s.client.Do(req)
	if err != nil {
		return requestError(ctx, err)
	}
	defer resp.Body.Close()
	// What receivers say about a refusal fits in a few words
	// ("invalid_payload", "no_service").
	said, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return false, nil
	}
	return callout.RetryableStatus(resp.StatusCode), fmt.Errorf("the receiver answered %d %s %q",
		resp.StatusCode, http.StatusText(resp.StatusCode), strings.ToValidUTF8(string(callout.ValidPrefix(said)), "?"))
}

// requestError says why no answer came, without the URL net/http quotes;
// a connection that failed or timed out is worth another attempt, a TLS
// downgrade is not.
func requestError(ctx context.Context, err error) (again bool, _ error) {
	var down *callout.DowngradeError
	if errors.As(err, &down) {
		return false, down
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			if ctx.Err() != nil {
				return true, errors.New("no answer before the notification's timeout")
			}
			return true, fmt.Errorf("no answer within %s", attemptTimeout)
		}
		err = ue.Err
	}
	return true, fmt.Errorf("request failed: %v", err)
}
