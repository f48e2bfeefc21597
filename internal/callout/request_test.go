package callout

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestRequestBuild(t *testing.T) {
	empty, body := "", "payload"
	for _, tc := range []struct {
		name      string
		r         Request
		host, ua  string
		body      string
		bodyIsNil bool
	}{
		{"defaults", Request{Method: "GET", URL: "http://app/x"}, "app", UserAgent, "", true},
		{"host header and agent", Request{Method: "POST", URL: "http://10.0.0.1/x", Body: &body,
			Headers: map[string]string{"host": "checkout.example", "User-Agent": "ci/1", "X-Api-Key": "k"}}, "checkout.example", "ci/1", "payload", false},
		{"empty body is sent", Request{Method: "PUT", URL: "http://app/x", Body: &empty}, "app", UserAgent, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := tc.r.Build(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if req.Host != tc.host || req.Header.Get("User-Agent") != tc.ua || req.Header.Get("Host") != "" {
				t.Errorf("host %q, agent %q, Host header %q", req.Host, req.Header.Get("User-Agent"), req.Header.Get("Host"))
			}
			if (req.Body == nil) != tc.bodyIsNil {
				t.Fatalf("body nil = %v", req.Body == nil)
			}
			if req.Body != nil {
				if b, _ := io.ReadAll(req.Body); string(b) != tc.body {
					t.Errorf("body %q", b)
				}
			}
		})
	}
}

func TestRequestBuildErrorIsRedacted(t *testing.T) {
	_, err := Request{Method: "GET", URL: "http://u:s3cret@app/x?token=s3cret\x7f"}.Build(context.Background())
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "invalid request") {
		t.Errorf("err = %v", err)
	}
}

func TestRequestSecret(t *testing.T) {
	got := Request{Headers: map[string]string{"X-Api-Key": "k"}}.Secret()
	if len(got) != 1 || got[0] != "X-Api-Key" {
		t.Errorf("Secret = %v", got)
	}
}

func TestCheckURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://u:s3cret@app/x?token=s3cret": "",
		"ftp://app/x?token=s3cret":            "ftp://app/x?… must start with http:// or https://",
		"http:///x":                           "http:///x has no host",
		"http://[::1]:namedport/?s3cret":      "(invalid URL) is not a URL: invalid port",
	} {
		got := ""
		if err := CheckURL(raw); err != nil {
			got = err.Error()
		}
		if (want == "") != (got == "") || !strings.HasPrefix(got, want) || strings.Contains(got, "s3cret") {
			t.Errorf("CheckURL(%q) = %q, want %q", raw, got, want)
		}
	}
}
