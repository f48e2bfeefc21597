package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the generated documents (go generate ./cmd/cutover)")

// TestReference fails when a generated document is stale: the command-line
// reference and README's exit-code table are rendered from the commands
// table, the flags and the exit codes.
func TestReference(t *testing.T) {
	root := filepath.Join("..", "..")
	readme := filepath.Join(root, "README.md")
	src, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(root, "docs", "reference", "cli.md"): cliReference(),
		readme: replaceBetween(t, string(src), "<!-- exit-codes", "<!-- end exit-codes -->", exitCodesMarkdown()),
	}
	for path, want := range files {
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v: run go generate ./cmd/cutover", err)
			continue
		}
		if d := cmp.Diff(want, string(got)); d != "" {
			t.Errorf("%s is stale: run go generate ./cmd/cutover (-want +got):\n%s", path, d)
		}
	}
}

// replaceBetween replaces what stands between the line starting with begin
// and end.
func replaceBetween(t *testing.T, s, begin, end, with string) string {
	i := strings.Index(s, begin)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("markers %q … %q not found", begin, end)
	}
	i += strings.Index(s[i:], "\n") + 1
	return s[:i] + with + s[j:]
}
