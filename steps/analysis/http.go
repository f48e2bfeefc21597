package analysis

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/internal/defaults"
	"github.com/cutoverhq/cutover/steps"
)

func init() {
	RegisterProvider(&Provider{
		Name:  "http",
		Order: 10,
		Doc: "Sends one HTTP request per measurement. `result` is `{ status, body, json, headers, latency }` " +
			"(json: the body parsed, or null; header names in lower case, Set-Cookie left out; latency in seconds). " +
			"The body is kept up to 1 MiB (cut with a marker, json null then); a body over 10 MiB is an Error measurement. " +
			"Without a condition a 2xx status is Successful. No response within `timeout` is an Error measurement.",
		AttrDocs: httpDocs,
		Attrs:    httpAttrs(),
		Check:    checkHTTP,
		New: func(b cty.Value, _ *steps.Env) (Measurer, error) {
			return newHTTP(b)
		},
		Verdict: httpVerdict,
	})
}

// httpDocs describe httpConfig's attributes in the reference (a probe's
// too).
var httpDocs = map[string]string{
	"url":      "The URL to request (http or https).",
	"method":   "The request method (default `GET`).",
	"headers":  "Request headers; their values are sent, never shown (they may hold credentials).",
	"body":     "The request body; never shown.",
	"timeout":  "How long one request may take, with its unit (default `\"10s\"`).",
	"insecure": "Accept any TLS certificate (a self-signed one in a test environment).",
}

// httpConfig is an http block (and the start of a probe's).
type httpConfig struct {
	URL      string            `hcl:"url,required"`
	Method   *string           `hcl:"method"`
	Headers  map[string]string `hcl:"headers"`
	Body     string            `hcl:"body"`
	Timeout  time.Duration     `hcl:"timeout"`
	Insecure bool              `hcl:"insecure"`
}

func newHTTPConfig() httpConfig { return httpConfig{Timeout: defaults.HTTPMeasureTimeout} }

func httpAttrs() hcldec.ObjectSpec { return steps.SpecFor[httpConfig]() }

// httpProvider sends one request per measurement. result is
//
//	{ status = 200, body = "…", json = <body parsed, or null>,
//	  headers = { "content-type" = "…" }, latency = 0.012 }
//
// with header names in lower case and latency in seconds. Set-Cookie is left
// out of headers: it carries session credentials. Without a condition a
// measurement is Successful on a 2xx status.
type httpProvider struct {
	req     callout.Request
	shown   string // req.URL redacted
	timeout time.Duration
	client  *http.Client
}

func newHTTP(b cty.Value) (*httpProvider, error) {
	c := newHTTPConfig()
	if _, err := steps.Decode(b, &c); err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	if err := checkURL(c.URL); err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	p := &httpProvider{req: callout.Request{Method: http.MethodGet, URL: c.URL, Headers: c.Headers},
		shown: callout.Redact(c.URL), timeout: c.Timeout}
	if c.Method != nil && *c.Method != "" {
		p.req.Method = strings.ToUpper(*c.Method)
	}
	if c.Body != "" {
		p.req.Body = &c.Body
	}
	// A gate measures the service, not a redirect target it cannot name.
	p.client = callout.NewClient(callout.ClientOptions{Insecure: c.Insecure, NoRedirects: true})
	return p, nil
}

// checkURL is callout.CheckURL with an example.
func checkURL(s string) error {
	if err := callout.CheckURL(s); err != nil {
		return fmt.Errorf("%w; url is an absolute http:// or https:// URL, such as \"http://checkout-preview/healthz\"", err)
	}
	return nil
}

func checkHTTP(b cty.Value, path []string) []steps.Problem {
	c := newHTTPConfig()
	u, out := decodeAt(b, &c, path)
	if !u.Has("url") {
		if err := checkURL(c.URL); err != nil {
			out = append(out, problem(path, "url", "Invalid URL", err.Error()))
		}
	}
	if c.Method != nil {
		if s := *c.Method; s == "" || strings.ContainsAny(s, " \t\r\n()<>@,;:\\\"/[]?={}") {
			out = append(out, problem(path, "method", "Invalid method",
				fmt.Sprintf("%q is not an HTTP method; use GET, POST, HEAD…", s)))
		}
	}
	return out
}

func (p *httpProvider) Describe() string { return "http " + p.req.Method + " " + p.shown }

// httpVerdict: a 2xx status is Successful.
func httpVerdict(r cty.Value) Phase {
	var res struct {
		Status int `hcl:"status"`
	}
	if _, err := steps.Decode(r, &res); err == nil && res.Status >= 200 && res.Status < 300 {
		return Successful
	}
	return Failed
}

// response is what one request gave.
type response struct {
	status  int
	header  http.Header
	body    *callout.Buffer
	latency time.Duration
}

// do sends the request once. Errors name the method and the URL without
// credentials.
func (p *httpProvider) do(ctx context.Context) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	m := p.req.Method
	req, err := p.req.Build(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", m, p.shown, err)
	}
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("%s %s: no response within %s", m, p.shown, p.timeout)
		}
		return nil, fmt.Errorf("%s %s: %s", m, p.shown, callout.ErrorText(err, p.req.URL))
	}
	defer resp.Body.Close()
	// The head is kept and the rest counted, up to callout.MaxResponseBody,
	// as every caller reads a body (docs/design.md, "Calling out").
	buf := callout.NewBuffer(callout.MaxOutput)
	if _, err := io.Copy(buf, resp.Body); err != nil {
		return nil, fmt.Errorf("%s %s: reading the %d response: %s", m, p.shown, resp.StatusCode, callout.ErrorText(err, p.req.URL))
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: buf, latency: time.Since(start)}, nil
}

func (p *httpProvider) Measure(ctx context.Context) (cty.Value, string, error) {
	resp, err := p.do(ctx)
	if err != nil {
		return cty.NilVal, "", err
	}
	headers := map[string]string{}
	for k, vs := range resp.header {
		if k = strings.ToLower(k); k != "set-cookie" {
			headers[k] = strings.Join(vs, ", ")
		}
	}
	r := cty.ObjectVal(map[string]cty.Value{
		"status":  cty.NumberIntVal(int64(resp.status)),
		"body":    cty.StringVal(resp.body.String()),
		"json":    steps.JSONValue(resp.body.Bytes(), resp.body.Truncated()),
		"headers": steps.FromGo(headers),
		"latency": cty.NumberFloatVal(resp.latency.Seconds()),
	})
	return r, strconv.Itoa(resp.status), nil
}
