package main

import (
	"slices"
	"testing"
)

// Single-dash long flags become two-dash ones for the command the arguments
// select; shorthands, values, "-" and what follows "--" stay as typed.
func TestNormalizeArgs(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"run", "-var", "x=y", "p"}, []string{"run", "--var", "x=y", "p"}},
		{[]string{"run", "p", "-var=x=y", "-kubeconfig", "k"}, []string{"run", "p", "--var=x=y", "--kubeconfig", "k"}},
		{[]string{"run", "p", "--var", "-x=1", "-dry-run"}, []string{"run", "p", "--var", "-x=1", "--dry-run"}},
		{[]string{"run", "p", "-grace", "-5s"}, []string{"run", "p", "--grace", "-5s"}},
		{[]string{"status", "-n", "ns", "-ojson"}, []string{"status", "-n", "ns", "-ojson"}},
		{[]string{"status", "-namespace", "ns", "-output=json"}, []string{"status", "--namespace", "ns", "--output=json"}},
		{[]string{"lint", "-", "-recursive=false"}, []string{"lint", "-", "--recursive=false"}},
		{[]string{"run", "--", "-var"}, []string{"run", "--", "-var"}},
		{[]string{"run", "-help"}, []string{"run", "--help"}},
		{[]string{"-version"}, []string{"--version"}},
		{[]string{"run", "-frobnicate"}, []string{"run", "--frobnicate"}},
		{[]string{"help", "run"}, []string{"help", "run"}},
		{[]string{"__complete", "run", "-var", "-va"}, []string{"__complete", "run", "--var", "-va"}},
		// Flags before the command move after it, with their values.
		{[]string{"-o", "json", "validate", "p"}, []string{"validate", "-o", "json", "p"}},
		{[]string{"-var", "x=y", "-kubeconfig=k", "run", "p"}, []string{"run", "--var", "x=y", "--kubeconfig=k", "p"}},
		{[]string{"-ojson", "--dry-run", "run", "p"}, []string{"run", "-ojson", "--dry-run", "p"}},
		{[]string{"-n", "ns", "completion", "bash"}, []string{"completion", "bash", "-n", "ns"}},
		{[]string{"--frobnicate", "validate", "p"}, []string{"validate", "--frobnicate", "p"}},
		{[]string{"-n", "ns"}, []string{"-n", "ns"}},
		{[]string{"__complete", "-n", "ns", "status", ""}, []string{"__complete", "status", "-n", "ns", ""}},
	} {
		root := (&cli{}).newRoot()
		if got := normalizeArgs(root, c.in); !slices.Equal(got, c.want) {
			t.Errorf("normalizeArgs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
