package analysis

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout/callouttest"
	"github.com/cutoverhq/cutover/steps"
)

// The providers call out through internal/callout, whose tests cover the
// behaviour; these say the Prometheus API client, which sends requests
// callout does not build, is wired to it.

// promAnswer answers every query with the scalar 1.
var promAnswer = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}`)
})

func TestPrometheusCredentialsStayWithTheirOrigin(t *testing.T) {
	other := callouttest.NewRecorder(t, promAnswer)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		callouttest.Redirect(other.URL+r.URL.RequestURI()).ServeHTTP(w, r)
	}))
	defer first.Close()
	p, err := newPrometheus(cty.ObjectVal(map[string]cty.Value{
		"address": cty.StringVal(first.URL),
		"query":   cty.StringVal("up"),
		"headers": steps.FromGo(callouttest.Credentials),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, short, err := p.Measure(context.Background()); err != nil || short != "1" {
		t.Fatalf("measure = %q, %v; the redirect was not followed", short, err)
	}
	reqs := other.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the other origin")
	}
	callouttest.AssertNoCredentials(t, reqs)
}

// TestPrometheusBodyCapped: the API client reads whole bodies itself; past
// the bound the read fails and the measurement says why.
func TestPrometheusBodyCapped(t *testing.T) {
	srv := httptest.NewServer(callouttest.Endless(`{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}`))
	defer srv.Close()
	p, err := newPrometheus(cty.ObjectVal(map[string]cty.Value{"address": cty.StringVal(srv.URL), "query": cty.StringVal("up")}))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Measure(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than 10 MiB") {
		t.Fatalf("err = %v; want the body bound named", err)
	}
}
