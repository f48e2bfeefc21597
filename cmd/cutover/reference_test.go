package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutoverhq/cutover/internal/reference"
	"github.com/cutoverhq/cutover/steps"
)

var update = flag.Bool("update", false, "rewrite the generated documents (go generate ./cmd/cutover)")

// TestReference fails when a generated document is stale: the command-line
// reference and README's exit-code table are rendered from the commands
// table, the flags and the exit codes; the JSON schema and the step and
// provider pages from the step registry.
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
	// The JSON schema and a page per step kind and analysis provider,
	// from the registry this binary decodes with.
	ref, err := reference.Files(steps.Default)
	if err != nil {
		t.Fatal(err)
	}
	// Every kind, provider, attribute and block says what it is for.
	for _, u := range reference.Undocumented(steps.Default) {
		t.Errorf("%s has no description: write it beside the kind's config struct (Doc, AttrDocs; a provider's Doc, AttrDocs)", u)
	}
	for name, text := range ref {
		files[filepath.Join(root, "docs", "reference", filepath.FromSlash(name))] = text
	}
	// A page of a kind or provider that no longer exists is stale too.
	for _, dir := range []string{"steps", "analysis"} {
		old, _ := filepath.Glob(filepath.Join(root, "docs", "reference", dir, "*.md"))
		for _, path := range old {
			if _, ok := files[path]; ok {
				continue
			}
			if *update {
				os.Remove(path)
			} else {
				t.Errorf("%s documents nothing this binary has: run go generate ./cmd/cutover", path)
			}
		}
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
