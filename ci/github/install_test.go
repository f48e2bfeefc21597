package github

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// goreleaser is the part of .goreleaser.yaml the action depends on.
type goreleaser struct {
	ProjectName string `json:"project_name"`
	Builds      []struct {
		Main    string   `json:"main"`
		Binary  string   `json:"binary"`
		LDFlags []string `json:"ldflags"`
		GOOS    []string `json:"goos"`
		GOARCH  []string `json:"goarch"`
	} `json:"builds"`
	Archives []struct {
		NameTemplate    string   `json:"name_template"`
		Formats         []string `json:"formats"`
		FormatOverrides []struct {
			GOOS    string   `json:"goos"`
			Formats []string `json:"formats"`
		} `json:"format_overrides"`
	} `json:"archives"`
	Checksum struct {
		NameTemplate string `json:"name_template"`
		Algorithm    string `json:"algorithm"`
	} `json:"checksum"`
}

// release is one version's files as goreleaser names them, rendered for
// this machine's platform.
type release struct {
	version  string // without the v, as goreleaser's .Version
	archive  string
	format   string // tar.gz or zip
	sums     string
	ldflags  string
	main     string
	binary   string
	commit   string
	date     string
	platform string
}

func readRelease(t *testing.T, version string) release {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var g goreleaser
	if err := yaml.Unmarshal(b, &g); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	if len(g.Builds) != 1 || len(g.Archives) != 1 || len(g.Builds[0].LDFlags) != 1 {
		t.Fatalf(".goreleaser.yaml: want one build with one ldflags line and one archive, got %+v", g)
	}
	bd, ar := g.Builds[0], g.Archives[0]
	// The action installs on every platform a GitHub runner has.
	for _, want := range [][2][]string{{bd.GOOS, {"linux", "darwin", "windows"}}, {bd.GOARCH, {"amd64", "arm64"}}} {
		if strings.Join(want[0], ",") != strings.Join(want[1], ",") {
			t.Errorf(".goreleaser.yaml builds %v, want %v", want[0], want[1])
		}
	}
	if g.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum algorithm %q, want sha256 (the action checks SHA-256)", g.Checksum.Algorithm)
	}
	r := release{
		version: version, main: bd.Main, binary: bd.Binary, format: ar.Formats[0],
		commit: "0123456789abcdef0123456789abcdef01234567", date: "2026-12-02T10:00:00Z",
		platform: runtime.GOOS + "_" + runtime.GOARCH,
	}
	for _, o := range ar.FormatOverrides {
		if o.GOOS == runtime.GOOS {
			r.format = o.Formats[0]
		}
	}
	render := strings.NewReplacer(
		"{{ .ProjectName }}", g.ProjectName, "{{ .Version }}", version,
		"{{ .Os }}", runtime.GOOS, "{{ .Arch }}", runtime.GOARCH,
		"{{ .FullCommit }}", r.commit, "{{ .CommitDate }}", r.date)
	r.archive = render.Replace(ar.NameTemplate) + "." + r.format
	r.sums = render.Replace(g.Checksum.NameTemplate)
	r.ldflags = render.Replace(bd.LDFlags[0])
	for _, s := range []string{r.archive, r.sums, r.ldflags} {
		if strings.Contains(s, "{{") {
			t.Fatalf(".goreleaser.yaml uses a template this test does not render: %s", s)
		}
	}
	return r
}

// publish builds cutover with the release's ldflags and writes the archive
// and its checksums file to dir/vVERSION, as a GitHub release serves them;
// sum, when not empty, replaces the archive's true SHA-256.
func publish(t *testing.T, r release, dir, sum string) {
	t.Helper()
	rel := filepath.Join(dir, "v"+r.version)
	if err := os.MkdirAll(rel, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), r.binary)
	// Only the release's ldflags, not its -trimpath and CGO_ENABLED=0: those
	// would rebuild every dependency instead of reusing the build cache.
	cmd := exec.Command("go", "build", "-ldflags", r.ldflags, "-o", exe, r.main)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	name := r.binary
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	archive := filepath.Join(rel, r.archive)
	writeArchive(t, archive, r.format, name, exe)
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if sum == "" {
		h := sha256.Sum256(b)
		sum = hex.EncodeToString(h[:])
	}
	// goreleaser's format: "SUM  NAME" per artifact; another platform's
	// line first, as in a real release.
	lines := fmt.Sprintf("%x  cutover_%s_plan9_mips.tar.gz\n%s  %s\n", sha256.Sum256(nil), r.version, sum, r.archive)
	if err := os.WriteFile(filepath.Join(rel, r.sums), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeArchive(t *testing.T, path, format, name, exe string) {
	t.Helper()
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	readme := []byte("cutover\n")
	switch format {
	case "tar.gz":
		gz := gzip.NewWriter(f)
		tw := tar.NewWriter(gz)
		for _, e := range []struct {
			name string
			mode int64
			data []byte
		}{{"README.md", 0o644, readme}, {name, 0o755, bin}} {
			if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.data)), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
	case "zip":
		zw := zip.NewWriter(f)
		for n, data := range map[string][]byte{"README.md": readme, name: bin} {
			w, err := zw.Create(n)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("archive format %q", format)
	}
}

// installAction runs the action's install step only, with an empty
// directory first on PATH and releases served from dir (file://).
func installAction(t *testing.T, version, ref, dir string) run {
	t.Helper()
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "ws"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The step's HOME is a fresh directory: a build that falls back to Go
	// uses this machine's caches, and never the network.
	extra := []string{"CUTOVER_RELEASE_URL=file://" + dir, "GOPROXY=off", "GOFLAGS=" + os.Getenv("GOFLAGS")}
	for _, v := range []string{"GOCACHE", "GOMODCACHE"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", v, err)
		}
		extra = append(extra, v+"="+strings.TrimSpace(string(out)))
	}
	return runActionOpts(t, map[string]string{"version": version}, ws, actionOpts{
		bin:       t.TempDir(),
		extra:     extra,
		ref:       ref,
		stopAfter: "install",
	})
}

func installed(r run) string { return filepath.Join(r.temp, "cutover-bin", "cutover") }

func TestActionInstallsRelease(t *testing.T) {
	rel := readRelease(t, "9.9.9")
	dir := t.TempDir()
	publish(t, rel, dir, "")
	r := installAction(t, "v9.9.9", "", dir)
	if r.code != 0 {
		t.Fatalf("install failed with exit %d:\n%s", r.code, r.log)
	}
	if !strings.Contains(r.log, "Installed cutover v9.9.9 ("+rel.platform+")") || strings.Contains(r.log, "Building cutover") {
		t.Errorf("not installed from the release:\n%s", r.log)
	}
	// The step ends with `cutover version` of what it installed: the
	// release's ldflags reached the binary.
	want := "cutover v9.9.9 commit " + rel.commit[:12] + " (" + rel.date + ")"
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

func TestActionRejectsWrongChecksum(t *testing.T) {
	rel := readRelease(t, "9.9.9")
	dir := t.TempDir()
	bad := strings.Repeat("0", 64)
	publish(t, rel, dir, bad)
	r := installAction(t, "9.9.9", "", dir)
	want := "::error title=cutover action::checksum mismatch for " + rel.archive + ": " + rel.sums + " says " + bad
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
