package callout

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"https://bob:pw@hooks.example.com/a/b?token=s3cret&x=1#frag": "https://hooks.example.com/a/b?…",
		"https://bob@hooks.example.com/a":                            "https://hooks.example.com/a",
		// A bare key can be the secret itself.
		"http://app:8080/healthz?AKIAEXAMPLEKEY": "http://app:8080/healthz?…",
		"http://app/healthz":                     "http://app/healthz",
		"http://app/x#access_token=abc":          "http://app/x",
		"http://[::1]:namedport/?q=1":            "(invalid URL)",
	} {
		if got := Redact(raw); got != want {
			t.Errorf("Redact(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestErrorTextHidesWhatNetHTTPQuotes: net/http masks only the password of
// the URL it quotes, as "***", which no plain replacement of the
// configured URL finds; the user name and the query were left in. The
// caller names the URL itself: the message is the cause.
func TestErrorTextHidesWhatNetHTTPQuotes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // connection refused from now on
	raw := "http://deployer:pa55@" + addr + "/hook?token=s3cret"
	_, err = NewClient(ClientOptions{}).Get(raw)
	if err == nil {
		t.Fatal("a request to a closed port succeeded")
	}
	msg := ErrorText(err, raw)
	for _, secret := range []string{"deployer", "pa55", "s3cret", "token"} {
		if strings.Contains(msg, secret) {
			t.Errorf("%q leaked: %s", secret, msg)
		}
	}
	if msg != "dial tcp "+addr+": connect: connection refused" {
		t.Errorf("msg = %q; want the cause alone", msg)
	}
}

// TestErrorTextHidesARedirectTarget: after a redirect, net/http quotes the
// hop it was on, a URL the pipeline never named.
func TestErrorTextHidesARedirectTarget(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/next?sig=s3cret", http.StatusFound)
	}))
	defer srv.Close()
	_, err := NewClient(ClientOptions{}).Get(srv.URL + "/start")
	if err == nil || !strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v; the test expects net/http to quote the last hop", err)
	}
	msg := ErrorText(err, srv.URL+"/start")
	if strings.Contains(msg, "s3cret") || !strings.Contains(msg, `Get "/next?…": stopped after 10 redirects`) {
		t.Errorf("msg = %q", msg)
	}
}
