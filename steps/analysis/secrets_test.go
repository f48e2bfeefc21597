package analysis

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/internal/callout/callouttest"
)

// TestNoCredentialShown: a credential in a provider's URL (user, password,
// query, fragment) or headers never shows in the verify's error, progress,
// output or plan when the call fails. Every provider that calls out has a
// case (docs/design.md, "Calling out").
func TestNoCredentialShown(t *testing.T) {
	closed := callouttest.ClosedURL(t)
	secretURL := callouttest.SecretURL(closed, "/healthz")
	var lines []string
	for k, v := range callouttest.Credentials {
		lines = append(lines, fmt.Sprintf("  %q = %q", k, v))
	}
	sort.Strings(lines)
	headers := "headers = {\n" + strings.Join(lines, "\n") + "\n}"
	for _, tc := range []struct{ name, block string }{
		{"http", fmt.Sprintf("http {\n url = %q\n %s\n}", secretURL, headers)},
		{"probe", fmt.Sprintf("probe {\n url = %q\n %s\n rate = 50\n duration = \"50ms\"\n condition = result.error_rate == 0\n}", secretURL, headers)},
		{"prometheus", fmt.Sprintf("prometheus {\n address = %q\n %s\n query = \"up\"\n condition = result.value == 1\n}",
			callouttest.SecretURL(closed, ""), headers)},
		{"slo", fmt.Sprintf("slo {\n address = %q\n %s\n objective = 0.99\n errors = \"sum(rate(e[$window]))\"\n total = \"sum(rate(t[$window]))\"\n}",
			callouttest.SecretURL(closed, "/prom"), headers)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, cfg := inline(t, "consecutive_error_limit = 1\n"+tc.block, nil)
			out, prog, err := runFake(t, env, cfg)
			all := fmt.Sprintf("%v\n%#v\n%s", err, out, prog.all())
			if err == nil || !strings.Contains(all, "connection refused") {
				t.Fatalf("err = %v; want the call refused:\n%s", err, all)
			}
			env, cfg = inline(t, tc.block, nil)
			plan, _ := verifyKind{}.Plan(t.Context(), env, cfg)
			callouttest.AssertHidden(t, tc.name, all, plan)
		})
	}
}
