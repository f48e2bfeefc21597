package callout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// script writes an executable shell script at path.
func script(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestLocalResolvesAgainstThePipeline: a relative program is the
// pipeline's, whatever the command's dir; PATH is the command's own.
func TestLocalResolvesAgainstThePipeline(t *testing.T) {
	base := t.TempDir()
	script(t, filepath.Join(base, "check.sh"))
	script(t, filepath.Join(base, "sub", "check.sh"))
	script(t, filepath.Join(base, "bin", "only-here"))
	c, err := Local([]string{"./check.sh", "-v"}, base, "sub", map[string]string{"MODE": "canary"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != filepath.Join(base, "check.sh") || c.Name != "./check.sh" || c.Dir != filepath.Join(base, "sub") || c.Limit != MaxOutput {
		t.Errorf("command %+v", c)
	}
	if c.Env[len(c.Env)-1] != "MODE=canary" {
		t.Errorf("env ends %q", c.Env[len(c.Env)-1])
	}
	c, err = Local([]string{"only-here"}, base, "", map[string]string{"PATH": filepath.Join(base, "bin") + ":bin:."})
	if err != nil || c.Path != filepath.Join(base, "bin", "only-here") {
		t.Errorf("path %q, err %v; want the program found in the command's PATH", c.Path, err)
	}
}

func TestLocalErrors(t *testing.T) {
	base := t.TempDir()
	script(t, filepath.Join(base, "bin", "tool"))
	for _, tc := range []struct {
		argv []string
		dir  string
		env  map[string]string
		want string
	}{
		{[]string{" "}, "", nil, "command is empty"},
		{[]string{"sh"}, "missing", nil, "working directory"},
		{[]string{"./nope.sh"}, "", nil, "nope.sh is not an executable file"},
		{[]string{"cutover-no-such-program"}, "", nil, "command not found in PATH"},
		// A relative PATH entry would depend on where cutover started.
		{[]string{"tool"}, "", map[string]string{"PATH": "bin"}, "command not found in PATH (bin)"},
	} {
		if _, err := Local(tc.argv, base, tc.dir, tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Local(%q) err = %v, want %q", tc.argv, err, tc.want)
		}
	}
}

func TestEnviron(t *testing.T) {
	got := Environ([]string{"A=1", "B=2", "A=3"}, map[string]string{"A": "x", "C": "y"})
	if strings.Join(got, " ") != "B=2 A=x C=y" {
		t.Errorf("Environ = %v", got)
	}
}
