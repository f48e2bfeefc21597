package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanManifestHasNoFindings(t *testing.T) {
	fs, err := Files([]string{filepath.Join("testdata", "clean.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 0 {
		var b strings.Builder
		_ = Format(&b, fs)
		t.Fatalf("clean manifest: want no findings, got:\n%s", b.String())
	}
}

func TestFilesReportsUnreadableFile(t *testing.T) {
	_, err := Files([]string{filepath.Join(t.TempDir(), "missing.yaml")})
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("want an error naming missing.yaml, got %v", err)
	}
}

func TestFindingsKeepFileNamesAndOrder(t *testing.T) {
	dir := t.TempDir()
	svc := filepath.Join(dir, "svc.yaml")
	app := filepath.Join(dir, "app.yaml")
	// The Service in one file selects the workloads of another: the
	// cross-file rule must still see it, and findings name both files.
	write(t, svc, "kind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n")
	write(t, app, "kind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: web}}\n"+
		"---\nkind: Deployment\nmetadata: {name: b}\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: web}}\n")
	fs, err := Files([]string{svc, app})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 || fs[0].File != svc || fs[0].Rule != "selector-matches-many" || fs[0].Line != 4 || fs[0].Col != 3 {
		t.Fatalf("first finding: want %s:4:3 selector-matches-many, got %+v", svc, fs)
	}
	for i := 1; i < len(fs); i++ {
		if fs[i-1].File == fs[i].File && fs[i-1].Line > fs[i].Line {
			t.Fatalf("findings out of line order: %v then %v", fs[i-1], fs[i])
		}
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
