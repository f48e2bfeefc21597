package lock

import "testing"

func TestSameRun(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"20261123-1-abc root@ci (pid 1)", "20261123-1-abc root@laptop (pid 9)", true},
		{"20261123-1-abc root@ci (pid 1)", "20261123-2-def root@ci (pid 1)", false},
		{"", "20261123-1-abc x", false},
	} {
		if got := sameRun(tc.a, tc.b); got != tc.want {
			t.Errorf("sameRun(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
