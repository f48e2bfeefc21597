package local

import (
	"errors"
	"testing"

	"github.com/cutoverhq/cutover/steps"
)

func TestPodHTTPCheck(t *testing.T) {
	k := podHTTPKind{}
	cases := map[string]string{
		`path = "/x"`: "name",
		`name = "web"
selector = "app=web"
path = "/x"`: "name",
		`selector = "app in (web"
path = "/x"`: "selector",
		`selector = ""
path = "/x"`: "selector",
		`name = "web"
path = "actuator/pause"`: "path",
		`name = "web"
path = "/x"
scheme = "ftp"`: "scheme",
		`name = "web"
path = "/x"
port = 70000`: "port",
		`name = "web"
path = "/x"
method = "post"`: "method",
		`name = "web"
path = "/x"
expect_status = 99`: "expect_status",
	}
	for src, path := range cases {
		p := k.Check(decode(t, k, src))
		if len(p) != 1 || p[0].Path[0] != path {
			t.Errorf("%s: problems = %+v, want one on %s", src, p, path)
		}
	}
	for _, ok := range []string{
		`
kind = "StatefulSet"
name = "web"
port = 8080
path = "/actuator/service-registry?status=DOWN"
method = "POST"
expect_status = [200, 204]`,
		`
selector = "app=web,version in (v1)"
scheme = "https"
path = "/actuator/pause"`,
	} {
		if p := k.Check(decode(t, k, ok)); len(p) != 0 {
			t.Errorf("valid config: %+v", p)
		}
	}
}

func TestPodHTTPProxyRef(t *testing.T) {
	port := 8080
	for _, tc := range []struct {
		c    podHTTPConfig
		want string
	}{
		{podHTTPConfig{Scheme: "http", Port: &port}, "p:8080"},
		{podHTTPConfig{Scheme: "http"}, "p"},
		{podHTTPConfig{Scheme: "https", Port: &port}, "https:p:8080"},
		{podHTTPConfig{Scheme: "https"}, "https:p:"},
	} {
		if got := tc.c.proxyRef("p"); got != tc.want {
			t.Errorf("proxyRef = %q, want %q", got, tc.want)
		}
	}
	for m, verb := range map[string]string{"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"} {
		if got := proxyVerb(m); got != verb {
			t.Errorf("proxyVerb(%s) = %s, want %s", m, got, verb)
		}
	}
}

// One pod refusing for good fails the stage without retries, even when
// another pod's failure alone would be worth one.
func TestPodHTTPErrors(t *testing.T) {
	blip, final := steps.Retryable(errors.New("503")), errors.New("404")
	if err := joinPodErrors([]error{nil, nil}); err != nil {
		t.Fatal(err)
	}
	if err := joinPodErrors([]error{blip, nil, blip}); !steps.IsRetryable(err) {
		t.Errorf("two blips: %v not retryable", err)
	}
	if err := joinPodErrors([]error{blip, final}); err == nil || steps.IsRetryable(err) {
		t.Errorf("a blip and a refusal: %v", err)
	}
}
