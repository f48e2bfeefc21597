package pause

import "testing"

func TestWaitingReadsBackTheQuestion(t *testing.T) {
	for _, tc := range []struct{ msg, message, ns string }{
		{"waiting for approval: cutover approve r-1 -n shop (or abort), 1h0m0s left", "", "shop"},
		{"Ship it? — waiting for approval: cutover approve r-1 -n prod (or abort), 2m0s left", "Ship it?", "prod"},
	} {
		m, ns, ok := Waiting(tc.msg)
		if !ok || m != tc.message || ns != tc.ns {
			t.Errorf("Waiting(%q) = %q, %q, %v; want %q, %q", tc.msg, m, ns, ok, tc.message, tc.ns)
		}
	}
	for _, msg := range []string{"ready replicas 2/3", "waiting for approval: cutover approve r-1"} {
		if _, _, ok := Waiting(msg); ok {
			t.Errorf("Waiting(%q) matched", msg)
		}
	}
}
