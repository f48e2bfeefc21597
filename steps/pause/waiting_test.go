package pause

import "testing"

func TestWaitingReadsBackTheQuestion(t *testing.T) {
	for _, tc := range []struct{ msg, message, ns, args string }{
		{"waiting for approval: cutover approve r-1 -n shop (or abort), 1h0m0s left", "", "shop", ""},
		{"Ship it? — waiting for approval: cutover approve r-1 -n prod (or abort), 2m0s left", "Ship it?", "prod", ""},
		// a fleet's share: answered with the pipeline, --target and the
		// values that say where (a -var may hold -n)
		{"waiting for approval: cutover approve r-1 promote /ci/fleet --target eu -var 'ctx=a -n b' -n shop (or abort), 1m0s left",
			"", "shop", "r-1 promote /ci/fleet --target eu -var 'ctx=a -n b' -n shop"},
	} {
		m, ns, args, ok := Waiting(tc.msg)
		if !ok || m != tc.message || ns != tc.ns || args != tc.args {
			t.Errorf("Waiting(%q) = %q, %q, %q, %v; want %q, %q, %q", tc.msg, m, ns, args, ok, tc.message, tc.ns, tc.args)
		}
	}
	for _, msg := range []string{"ready replicas 2/3", "waiting for approval: cutover approve r-1"} {
		if _, _, _, ok := Waiting(msg); ok {
			t.Errorf("Waiting(%q) matched", msg)
		}
	}
}
