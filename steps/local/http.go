package local

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/internal/defaults"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(httpKind{}) }

// httpKind sends one request: a webhook, an instance marked DOWN in a
// registry, a /pause endpoint.
type httpKind struct{}

func (httpKind) Name() string { return "http" }

func (httpKind) Doc() string {
	return "Sends one HTTP request: a webhook, an instance marked down in a registry, a pause endpoint. A status " +
		"other than `expect_status` fails the stage (retryable when it says the fault may pass: 408, 429, 5xx). Headers and the body are sent, never shown. " +
		"The output keeps up to 1 MiB of the response body (cut with a marker); a body over 10 MiB fails the stage."
}

func (httpKind) AttrDocs() map[string]string {
	return map[string]string{
		"url":           "The URL to request (http or https).",
		"method":        "The request method (default `GET`).",
		"headers":       "Request headers; sent, never shown (they may hold credentials).",
		"body":          "The request body; never shown.",
		"expect_status": "The status, or a list of statuses, that mean success (default: any 2xx).",
		"timeout":       "How long the request may take, with its unit (default `\"30s\"`).",
		"insecure":      "Accept any TLS certificate (a self-signed one in a test environment).",
	}
}

// httpConfig is the http block.
type httpConfig struct {
	URL string `hcl:"url,required"`
	request
	Insecure bool `hcl:"insecure"`
}

// request is what the http and pod_http blocks share: the request sent and
// the answer expected.
type request struct {
	Method  string            `hcl:"method"`
	Headers map[string]string `hcl:"headers"`
	Body    *string           `hcl:"body"`
	// A number or a list of numbers; checked by Check.
	ExpectStatus cty.Value     `hcl:"expect_status"`
	Timeout      time.Duration `hcl:"timeout"`
}

func newRequest() request { return request{Method: http.MethodGet, Timeout: defaults.HTTPTimeout} }

func newHTTPConfig() httpConfig { return httpConfig{request: newRequest()} }

var httpSpec = steps.SpecFor[httpConfig]()

func (httpKind) Spec() hcldec.Spec { return httpSpec }

var httpOutput = cty.Object(map[string]cty.Type{
	"status":  cty.Number,
	"body":    cty.String,
	"json":    cty.DynamicPseudoType,
	"headers": cty.Map(cty.String),
})

func (httpKind) Output() cty.Type { return httpOutput }

// Plan says what would be sent, without sending it.
func (httpKind) Plan(_ context.Context, _ *steps.Env, cfg cty.Value) (string, error) {
	c := newHTTPConfig()
	if _, err := steps.Decode(cfg, &c); err != nil {
		return "", err
	}
	return fmt.Sprintf("would send %s %s", c.Method, callout.Redact(c.URL)), nil
}

func (httpKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	c := newHTTPConfig()
	_, decodeErr := steps.Decode(cfg, &c)
	m, rawURL := c.Method, c.URL
	shown := callout.Redact(rawURL)
	if decodeErr != nil {
		return cty.NilVal, fmt.Errorf("http %s %s: %w", m, shown, decodeErr)
	}
	expect, err := expectedStatuses(c.ExpectStatus)
	if err != nil {
		return cty.NilVal, fmt.Errorf("http %s %s: %w", m, shown, err)
	}
	timeout := c.Timeout
	if env != nil && env.DryRun && !safeMethod(m) {
		// An HTTP request cannot be a server-side dry run; only requests
		// that by definition change nothing are sent.
		env.Report(fmt.Sprintf("dry run: not sending %s %s", m, shown))
		return cty.ObjectVal(map[string]cty.Value{
			"status": cty.NullVal(cty.Number), "body": cty.NullVal(cty.String),
			"json": cty.NullVal(cty.DynamicPseudoType), "headers": cty.NullVal(cty.Map(cty.String)),
		}), nil
	}

	env.Report(fmt.Sprintf("%s %s", m, shown))
	client := callout.NewClient(callout.ClientOptions{Timeout: timeout,
		Insecure: c.Insecure, Secret: c.callout(rawURL).Secret()})
	return c.send(ctx, client, rawURL, shown, expect)
}

// callout is the request to rawURL.
func (c request) callout(rawURL string) callout.Request {
	return callout.Request{Method: c.Method, URL: rawURL, Headers: c.Headers, Body: c.Body}
}

// send builds the request to rawURL (shown: as messages name it) and
// exchanges it.
func (c request) send(ctx context.Context, client *http.Client, rawURL, shown string, expect func(int) bool) (cty.Value, error) {
	req, err := c.callout(rawURL).Build(ctx)
	if err != nil {
		return cty.NilVal, fmt.Errorf("http %s %s: %w", c.Method, shown, err)
	}
	return c.exchange(ctx, client, req, shown, rawURL, expect)
}

// exchange sends req and reads the answer into the http output; the error
// says why the answer is not the one expected.
func (c request) exchange(ctx context.Context, client *http.Client, req *http.Request, shown, rawURL string, expect func(int) bool) (cty.Value, error) {
	m := c.Method
	resp, err := client.Do(req)
	if err != nil {
		return cty.NilVal, requestError(ctx, m, shown, rawURL, c.Timeout, err)
	}
	defer resp.Body.Close()
	// The first callout.MaxOutput bytes are kept (the output), the rest up
	// to callout.MaxResponseBody only counted; past that the read fails.
	buf := callout.NewBuffer(callout.MaxOutput)
	if _, err := io.Copy(buf, resp.Body); err != nil {
		if errors.Is(err, callout.ErrBodyTooLarge) {
			// Not retried: the next answer will be as large.
			return cty.NilVal, fmt.Errorf("http %s %s: status %d, %w", m, shown, resp.StatusCode, err)
		}
		return cty.NilVal, steps.Retryable(fmt.Errorf("http %s %s: status %d, reading the body failed: %s",
			m, shown, resp.StatusCode, callout.ErrorText(err, rawURL)))
	}

	out := cty.ObjectVal(map[string]cty.Value{
		"status":  cty.NumberIntVal(int64(resp.StatusCode)),
		"body":    cty.StringVal(buf.String()),
		"json":    steps.JSONValue(buf.Bytes(), buf.Truncated()),
		"headers": responseHeaders(resp.Header),
	})
	if !expect(resp.StatusCode) {
		return out, statusError(m, shown, resp.StatusCode, buf.Bytes(), c.ExpectStatus)
	}
	return out, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// responseHeaders keeps the first value of each header under its lower-case
// name, so pipelines index them without guessing the canonical case.
func responseHeaders(h http.Header) cty.Value {
	if len(h) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	m := make(map[string]cty.Value, len(h))
	for k, vs := range h {
		if len(vs) > 0 {
			m[strings.ToLower(k)] = cty.StringVal(vs[0])
		}
	}
	return cty.MapVal(m)
}

// requestError classifies a failed round trip: the connection or the
// server being unavailable is worth another attempt, a bad certificate or
// URL is not.
func requestError(ctx context.Context, m, shown, raw string, timeout time.Duration, err error) error {
	msg := callout.ErrorText(err, raw)
	if ctx.Err() != nil {
		return fmt.Errorf("http %s %s: stopped: %w", m, shown, context.Cause(ctx))
	}
	var down *callout.DowngradeError
	if errors.As(err, &down) {
		return fmt.Errorf("http %s %s: %s", m, shown, down.Error())
	}
	if isTimeout(err) {
		return steps.Retryable(fmt.Errorf("http %s %s: no response within %s (timeout); raise timeout if the endpoint is slow", m, shown, timeout))
	}
	if final := certificateProblem(err); final != "" {
		return fmt.Errorf("http %s %s: %s: %s; fix the server's certificate or set insecure = true", m, shown, final, msg)
	}
	if strings.Contains(msg, "unsupported protocol scheme") {
		return fmt.Errorf("http %s %s: the URL must start with http:// or https://", m, shown)
	}
	return steps.Retryable(fmt.Errorf("http %s %s: request failed: %s", m, shown, msg))
}

// certificateProblem names a TLS verification failure, "" for other errors.
func certificateProblem(err error) string {
	var verr *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return "the server's certificate is signed by an unknown authority"
	case errors.As(err, &host):
		return "the server's certificate is not valid for this host"
	case errors.As(err, &invalid):
		return "the server's certificate is invalid"
	case errors.As(err, &verr):
		return "the server's certificate could not be verified"
	}
	return ""
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
