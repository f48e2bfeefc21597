package kube

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// retryTransport retries a request the API server (or the network in
// between) failed in passing: 5xx, 429, 409 and connections dropped or
// reset. A release is a few dozen requests; without this, one blip fails a
// stage attempt that may have taken minutes of waiting. Requests are
// replayed only when their body can be (client-go's always can); watches
// are left to the watch machinery, which resumes on its own.
//
// Replaying a write is safe for cutover's writes: server-side apply and
// merge patches are idempotent, and a create that landed before its reply
// was lost answers AlreadyExists, which callers handle. A conflict is
// replayed only for a patch without a resourceVersion (the API server's own
// retries can run out under contention): an update, a delete with
// preconditions or a patch carrying a resourceVersion would fail the same
// way again, and its caller (the journal, the lock) must hear at once that
// someone else wrote.
type retryTransport struct {
	next  http.RoundTripper
	tries int
	delay time.Duration
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Query().Get("watch") == "true" || (req.Body != nil && req.GetBody == nil) {
		return t.next.RoundTrip(req)
	}
	delay := t.delay
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(req.Context())
			r.Body = body
		}
		resp, err := t.next.RoundTrip(r)
		if attempt >= t.tries || !transientResponse(req, resp, err) {
			return resp, err
		}
		if resp != nil {
			// Drain so the connection can be reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func transientResponse(req *http.Request, resp *http.Response, err error) bool {
	if err != nil {
		var ne net.Error
		return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
			(errors.As(err, &ne) && ne.Timeout()) || strings.Contains(err.Error(), "connection reset")
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusConflict:
		return req.Method == http.MethodPatch && !carriesVersion(req)
	}
	return false
}

// carriesVersion says whether a patch's body sets a resourceVersion, which
// makes it a precondition.
func carriesVersion(req *http.Request) bool {
	if req.GetBody == nil {
		return false
	}
	body, err := req.GetBody()
	if err != nil {
		return true
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, 8<<20))
	return err != nil || bytes.Contains(b, []byte(`"resourceVersion"`))
}
