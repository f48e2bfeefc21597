package workloads

import "testing"

func TestPickedLine(t *testing.T) {
	for _, c := range []struct {
		picked, todo int
		want         string
	}{
		{0, 0, "daemonset/agent: 0 picked nodes, 0 to update"},
		{1, 0, "daemonset/agent: 1 picked node, 0 to update: its pod already runs abc"},
		{3, 0, "daemonset/agent: 3 picked nodes, 0 to update: their pods already run abc"},
		{1, 1, "daemonset/agent: 1 picked node, 1 to update to abc"},
		{3, 3, "daemonset/agent: 3 picked nodes, 3 to update to abc"},
		{3, 2, "daemonset/agent: 3 picked nodes, 2 to update to abc (1 already runs it)"},
		{3, 1, "daemonset/agent: 3 picked nodes, 1 to update to abc (2 already run it)"},
	} {
		if got := pickedLine("daemonset/agent", c.picked, c.todo, "abc"); got != c.want {
			t.Errorf("pickedLine(%d, %d) = %q, want %q", c.picked, c.todo, got, c.want)
		}
	}
}
