package github

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/internal/releasetest"
)

// installAction runs the action's install step only, with an empty
// directory first on PATH and releases served from dir (file://); env
// (KEY=value) comes last and wins.
func installAction(t *testing.T, version, ref, dir string, env ...string) run {
	t.Helper()
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "ws"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The step's HOME is a fresh directory: a build that falls back to Go
	// uses this machine's caches, and never the network.
	extra := []string{"CUTOVER_RELEASE_URL=file://" + dir, "CUTOVER_RELEASE_INDEX=file://" + filepath.Join(dir, "releases.json"), "GOPROXY=off", "GOFLAGS=" + os.Getenv("GOFLAGS")}
	for _, v := range []string{"GOCACHE", "GOMODCACHE"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", v, err)
		}
		extra = append(extra, v+"="+strings.TrimSpace(string(out)))
	}
	return runActionOpts(t, map[string]string{"version": version}, ws, actionOpts{
		bin:       t.TempDir(),
		extra:     append(extra, env...),
		ref:       ref,
		stopAfter: "install",
	})
}

func installed(r run) string { return filepath.Join(r.temp, "cutover-bin", "cutover") }

func TestActionInstallsRelease(t *testing.T) {
	rel := releasetest.Read(t, root, "9.9.9")
	dir := t.TempDir()
	releasetest.Publish(t, root, rel, dir, "")
	r := installAction(t, "v9.9.9", "", dir)
	if r.code != 0 {
		t.Fatalf("install failed with exit %d:\n%s", r.code, r.log)
	}
	if !strings.Contains(r.log, "Installed cutover v9.9.9 ("+rel.Platform+")") || strings.Contains(r.log, "Building cutover") {
		t.Errorf("not installed from the release:\n%s", r.log)
	}
	// The step ends with `cutover version` of what it installed: the
	// release's ldflags reached the binary.
	want := "cutover v9.9.9 commit " + rel.Commit[:12] + " (" + rel.Date + ")"
	if !strings.Contains(r.log, want) {
		t.Errorf("installed binary's version line missing %q:\n%s", want, r.log)
	}
	out, err := exec.Command(installed(r), "version").Output()
	if err != nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("%s version: %q, %v; want %q", installed(r), out, err, want)
	}
	if left, _ := filepath.Glob(filepath.Join(r.temp, "cutover-release.*")); len(left) > 0 {
		t.Errorf("download directory left behind: %v", left)
	}
}

// TestActionResolvesMajorRef: `uses: cutoverhq/cutover@v9` (the action's
// moving major tag) and `version: v9.9` install the newest release they
// cover, from the release list, checksum verified; a prerelease, another
// major and a release of another minor do not count.
func TestActionResolvesMajorRef(t *testing.T) {
	rel := releasetest.Read(t, root, "9.9.9")
	dir := t.TempDir()
	releasetest.Publish(t, root, rel, dir, "")
	// GitHub's releases API, newest first; fields this test does not need
	// left out. Only v9.9.9 has files: picking another would fail.
	index := `[{"tag_name":"v10.0.0","prerelease":false},{"tag_name":"v9.10.0-rc.1","prerelease":true},` +
		`{"tag_name": "v9.9.9","prerelease":false},{"tag_name":"v9.9.2"},{"tag_name":"v9.8.12"},{"tag_name":"v99.0.0"}]`
	if err := os.WriteFile(filepath.Join(dir, "releases.json"), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, version, ref string }{
		{"action ref v9", "", "v9"},
		{"version v9.9", "v9.9", "v9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := installAction(t, c.version, c.ref, dir)
			if r.code != 0 {
				t.Fatalf("install failed with exit %d:\n%s", r.code, r.log)
			}
			asked := c.version
			if asked == "" {
				asked = c.ref
			}
			for _, want := range []string{
				"cutover " + asked + " is release v9.9.9",
				"Installed cutover v9.9.9 (" + rel.Platform + ")",
				"sha256 ",
				"cutover v9.9.9 commit " + rel.Commit[:12],
			} {
				if !strings.Contains(r.log, want) {
					t.Errorf("log lacks %q:\n%s", want, r.log)
				}
			}
			if strings.Contains(r.log, "Building cutover") {
				t.Errorf("built instead of installing the release:\n%s", r.log)
			}
		})
	}
	// A major with no release in the list is not one: without Go the step
	// says what to use instead, and installs nothing.
	r := installAction(t, "", "v8", dir, "PATH="+noGoPath(t))
	for _, want := range []string{"No cutover release matches v8 at file://", "::error title=cutover action::no cutover release v8 for "} {
		if r.code != 2 || !strings.Contains(r.log, want) {
			t.Errorf("exit %d, want 2 and %q in:\n%s", r.code, want, r.log)
		}
	}
}

func TestActionRejectsWrongChecksum(t *testing.T) {
	rel := releasetest.Read(t, root, "9.9.9")
	dir := t.TempDir()
	bad := strings.Repeat("0", 64)
	releasetest.Publish(t, root, rel, dir, bad)
	r := installAction(t, "9.9.9", "", dir)
	want := "::error title=cutover action::checksum mismatch for " + rel.Archive + ": " + rel.Sums + " says " + bad
	if r.code != 2 || !strings.Contains(r.log, want) {
		t.Errorf("exit %d, want 2 and %q in:\n%s", r.code, want, r.log)
	}
	if _, err := os.Stat(installed(r)); err == nil {
		t.Error("a binary whose checksum did not match was installed")
	}
	if strings.Contains(r.log, "Building cutover") {
		t.Error("a checksum mismatch fell back to a build: it must fail")
	}
}

// With no release for the action's ref, the action builds its own checkout.
func TestActionBuildsWithoutRelease(t *testing.T) {
	r := installAction(t, "", "v9.9.8", t.TempDir())
	if r.code != 0 {
		t.Fatalf("install failed with exit %d:\n%s", r.code, r.log)
	}
	for _, want := range []string{"No cutover release v9.9.8 for ", "Building cutover from " + root} {
		if !strings.Contains(r.log, want) {
			t.Errorf("log lacks %q:\n%s", want, r.log)
		}
	}
	if out, err := exec.Command(installed(r), "version").Output(); err != nil || !strings.HasPrefix(string(out), "cutover ") {
		t.Errorf("the built cutover does not run: %q, %v", out, err)
	}
}

// noGoPath is a PATH directory with the tools the install step uses and no
// Go, as on a runner without actions/setup-go.
func noGoPath(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"bash", "curl", "grep", "sed", "sort", "tail", "mkdir", "mktemp", "awk", "rm"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
