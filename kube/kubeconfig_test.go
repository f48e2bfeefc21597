package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file that is not a kubeconfig is described in words about the file,
// never with the Go types client-go's decoder names.
func TestFileProblem(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, src, want string }{
		{"ok", "apiVersion: v1\nkind: Config\nclusters: []\n", ""},
		{"empty", "", ""},
		{"text", "hello\n", "not a kubeconfig: it holds a string, where a kubeconfig is a mapping"},
		{"list", "- a\n- b\n", "not a kubeconfig: it holds a list"},
		{"notyaml", "a: b: c\n", "not a kubeconfig: it is not YAML (mapping values are not allowed in this context)"},
		{"deployment", "apiVersion: apps/v1\nkind: Deployment\n", "not a kubeconfig: its kind is Deployment, not Config"},
		{"field", "apiVersion: v1\nkind: Config\nclusters: hello\n", "not a kubeconfig: clusters is a string, where a kubeconfig has a list"},
		{"other", "foo: bar\n", "not a kubeconfig: it has none of a kubeconfig's fields"},
	}
	for _, c := range cases {
		f := filepath.Join(dir, c.name)
		if err := os.WriteFile(f, []byte(c.src), 0o600); err != nil {
			t.Fatal(err)
		}
		got := FileProblem(f)
		if c.want == "" && got != "" || !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: %q, want %q…", c.name, got, c.want)
		}
		if strings.Contains(got, "Go ") || strings.Contains(got, "json:") {
			t.Errorf("%s: Go types in %q", c.name, got)
		}
	}
	if got := FileProblem(filepath.Join(dir, "absent")); got != "no such file" {
		t.Errorf("absent: %q", got)
	}
}

// $KUBECONFIG is read as kubectl reads it: a missing entry is skipped while
// another exists; when none does, the missing ones are named.
func TestEnvProblem(t *testing.T) {
	dir := t.TempDir()
	ok, bad := filepath.Join(dir, "ok"), filepath.Join(dir, "bad")
	os.WriteFile(ok, []byte("apiVersion: v1\nkind: Config\n"), 0o600)
	os.WriteFile(bad, []byte("- x\n"), 0o600)
	gone, gone2 := filepath.Join(dir, "gone"), filepath.Join(dir, "gone2")
	list := func(f ...string) string { return strings.Join(f, string(os.PathListSeparator)) }
	cases := []struct{ env, want string }{
		{"", ""},
		{ok, ""},
		{list(gone, ok), ""},
		{gone, "kubeconfig " + gone + " (in $KUBECONFIG): no such file"},
		{list(gone, gone2), "$KUBECONFIG lists no kubeconfig that exists: " + gone + ", " + gone2 + ": no such file"},
		{list(ok, bad), "kubeconfig " + bad + " (in $KUBECONFIG): not a kubeconfig: it holds a list"},
	}
	for _, c := range cases {
		got := ""
		if err := EnvProblem(c.env); err != nil {
			got = err.Error()
		}
		if c.want == "" && got != "" || !strings.HasPrefix(got, c.want) {
			t.Errorf("KUBECONFIG=%s: %q, want %q", c.env, got, c.want)
		}
	}
}
