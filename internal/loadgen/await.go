package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// DefaultAwaitTimeout bounds Await when AwaitOptions.Timeout is 0.
const DefaultAwaitTimeout = 60 * time.Second

// AwaitOptions say what Await waits for.
type AwaitOptions struct {
	URL    string
	Host   string
	Header http.Header
	// Version, if set, is the version an answer must come from.
	Version string
	// For is how long every answer must be good, without a break (0: one
	// good answer is enough).
	For time.Duration
	// Timeout bounds the wait (0: DefaultAwaitTimeout).
	Timeout time.Duration
}

// Await sends one request after another until the URL answers below 400
// (from Version; without a break for For): what clients see once the data
// plane has acted on a change, after its propagation delay. Counted traffic
// starts after it, so that it measures the release and not the data
// plane's catching up. The error says what was awaited and the last answer.
func Await(ctx context.Context, o AwaitOptions) error {
	if o.Timeout <= 0 {
		o.Timeout = DefaultAwaitTimeout
	}
	deadline := time.Now().Add(o.Timeout)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	last := "none"
	var since time.Time // of the unbroken run of good answers
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
		if err != nil {
			return err
		}
		req.Host, req.Header = o.Host, o.Header.Clone()
		if req.Header == nil {
			req.Header = http.Header{}
		}
		resp, err := client.Do(req)
		good := false
		if err == nil {
			resp.Body.Close()
			got := resp.Header.Get(VersionHeader)
			good = resp.StatusCode < 400 && (o.Version == "" || got == o.Version)
			last = fmt.Sprintf("%s from %q", resp.Status, got)
		} else {
			last = err.Error()
		}
		switch {
		case !good:
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		}
		if good && time.Since(since) >= o.For {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			what := ""
			if o.Version != "" {
				what = " from " + o.Version
			}
			if o.For > 0 {
				what += " for " + o.For.String()
			}
			if ctx.Err() != nil {
				return fmt.Errorf("no answer%s: %w; last: %s", what, ctx.Err(), last)
			}
			return fmt.Errorf("no answer%s after %s; last: %s", what, o.Timeout, last)
		}
		select {
		case <-ctx.Done():
		case <-time.After(25 * time.Millisecond): // polling what clients see: there is nothing to watch
		}
	}
}
