// Package loadgen sends HTTP requests at a fixed rate and counts what the
// clients see: answers by version (the X-Version header the demo server
// sets), errors by kind with samples, latency percentiles, when each
// version was first and last seen, and per-second buckets for a live view.
// Traffic promises are proven with it (docs/design.md, "Test cluster data
// plane").
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
)

// VersionHeader carries the version of the instance that answered.
const VersionHeader = "X-Version"

// Defaults of Options.
const (
	DefaultRate = 200
	// DefaultTimeout is generous: on a busy test machine a healthy answer
	// can take seconds, and a dead pod is refused at once, not timed out.
	DefaultTimeout = 5 * time.Second
	// MaxDuration bounds a run that has neither Duration nor Count.
	MaxDuration = 10 * time.Minute
)

// Targets picks the URL of each request, e.g. from a service registry's
// instance list (Eureka-like: clients call instances directly). ok false
// counts the request as an error of kind "no-target".
type Targets interface {
	Target() (url string, ok bool)
}

// Options describe a run.
type Options struct {
	// URL is requested at every tick (unless Targets is set).
	URL     string
	Targets Targets
	// Rate is requests per second (0: DefaultRate). Requests are sent on
	// schedule whether or not earlier ones have answered.
	Rate float64
	// Duration and Count bound the run (0: unbounded, but never longer
	// than MaxDuration); Stop ends it earlier.
	Duration time.Duration
	Count    int
	// Host overrides the Host header (the router routes by it).
	Host    string
	Header  http.Header
	Cookies []*http.Cookie
	// Timeout bounds each request (0: DefaultTimeout).
	Timeout time.Duration
	// KeepAlive reuses connections. Off by default: each request opens a
	// connection, so a service proxy (which balances connections, as
	// kube-proxy does) spreads requests too.
	KeepAlive bool
	// OnSecond, if set, is called (from the run's goroutine) with each
	// second's bucket once the second is over.
	OnSecond func(Second)
}

// Run is a load run in progress.
type Run struct {
	opts    Options
	client  *http.Client
	cancel  context.CancelFunc
	done    chan struct{}
	started time.Time

	mu  sync.Mutex
	agg aggregate
}

// Start begins sending; the run ends at its bound, on Stop, or when ctx
// ends.
func Start(ctx context.Context, opts Options) (*Run, error) {
	if opts.URL == "" && opts.Targets == nil {
		return nil, errors.New("loadgen: no URL")
	}
	if opts.Rate <= 0 {
		opts.Rate = DefaultRate
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Duration <= 0 || opts.Duration > MaxDuration {
		opts.Duration = MaxDuration
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: opts.Timeout}).DialContext,
		DisableKeepAlives:   !opts.KeepAlive,
		MaxIdleConnsPerHost: 256,
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Duration)
	r := &Run{opts: opts, client: &http.Client{Transport: tr, Timeout: opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		cancel: cancel, done: make(chan struct{}), started: time.Now()}
	r.agg.init(r.started)
	go r.loop(ctx)
	return r, nil
}

// loop sends on schedule (request i at start + i/rate) until the bound,
// then waits for the answers in flight.
func (r *Run) loop(ctx context.Context) {
	defer close(r.done)
	defer r.client.CloseIdleConnections()
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / r.opts.Rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	emitted := 0
	for i := 0; r.opts.Count <= 0 || i < r.opts.Count; i++ {
		next := r.started.Add(time.Duration(i) * interval)
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			i = -1
		case <-timer.C:
		}
		if i < 0 {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.one()
		}()
		emitted = r.emitSeconds(emitted, false)
	}
	wg.Wait()
	r.mu.Lock()
	r.agg.ended = time.Now()
	r.mu.Unlock()
	r.emitSeconds(emitted, true)
}

// emitSeconds calls OnSecond for each second over since the last call.
func (r *Run) emitSeconds(from int, all bool) int {
	if r.opts.OnSecond == nil {
		return from
	}
	now := int(time.Since(r.started) / time.Second)
	for ; from < now || (all && from <= now); from++ {
		r.mu.Lock()
		s := r.agg.second(from)
		r.mu.Unlock()
		r.opts.OnSecond(s)
	}
	return from
}

// one sends a request and records its outcome.
func (r *Run) one() {
	url := r.opts.URL
	if r.opts.Targets != nil {
		var ok bool
		if url, ok = r.opts.Targets.Target(); !ok {
			r.record(outcome{kind: "no-target", sample: "no target available", at: time.Now()})
			return
		}
	}
	begin := time.Now()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		r.record(outcome{kind: "other", sample: err.Error(), at: begin})
		return
	}
	for k, vs := range r.opts.Header {
		req.Header[k] = vs
	}
	if r.opts.Host != "" {
		req.Host = r.opts.Host
	}
	for _, c := range r.opts.Cookies {
		req.AddCookie(c)
	}
	resp, err := r.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body) // a reset mid-body is a failure too
		resp.Body.Close()
	}
	o := outcome{at: time.Now(), latency: time.Since(begin)}
	switch {
	case err != nil:
		o.kind, o.sample = errorKind(err), err.Error()
	case resp.StatusCode >= 500:
		o.kind, o.sample = "5xx", fmt.Sprintf("%s from %s", resp.Status, versionOf(resp))
		o.status = true
	case resp.StatusCode >= 400:
		o.kind, o.sample = "4xx", fmt.Sprintf("%s from %s", resp.Status, versionOf(resp))
		o.status = true
	default:
		o.version = versionOf(resp)
	}
	r.record(o)
}

func versionOf(resp *http.Response) string {
	if v := resp.Header.Get(VersionHeader); v != "" {
		return v
	}
	return "unknown"
}

// errorKind names what a client saw fail.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other"
}

func (r *Run) record(o outcome) {
	r.mu.Lock()
	r.agg.add(o)
	r.mu.Unlock()
}

// Stop ends the run (no new requests; those in flight finish) and returns
// its summary.
func (r *Run) Stop() *Summary {
	r.cancel()
	return r.Wait()
}

// Wait waits for the run to reach its bound and returns its summary.
func (r *Run) Wait() *Summary {
	<-r.done
	return r.Summary()
}

// Done is closed when the run is over.
func (r *Run) Done() <-chan struct{} { return r.done }

// Summary returns the figures so far (final once Done is closed).
func (r *Run) Summary() *Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.agg.summary()
	s.URL, s.Host, s.Rate = r.opts.URL, r.opts.Host, r.opts.Rate
	return s
}
