// Package releasetest publishes a cutover release as goreleaser would
// (.goreleaser.yaml: archive per platform, checksums file) into a local
// directory, for the tests of the CI integrations that install one
// (ci/github, ci/gitlab).
package releasetest

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

// Release is one version's files as goreleaser names them, rendered for
// this machine's platform.
type Release struct {
	Version  string // without the v, as goreleaser's .Version
	Archive  string
	Format   string // tar.gz or zip
	Sums     string
	Ldflags  string
	Main     string
	Binary   string
	Commit   string
	Date     string
	Platform string
}

// Read renders the release of version (without the v) from root's
// .goreleaser.yaml for this machine's platform, checking the parts the
// installers depend on.
func Read(t testing.TB, root, version string) Release {
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
	r := Release{
		Version: version, Main: bd.Main, Binary: bd.Binary, Format: ar.Formats[0],
		Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-12-02T10:00:00Z",
		Platform: runtime.GOOS + "_" + runtime.GOARCH,
	}
	for _, o := range ar.FormatOverrides {
		if o.GOOS == runtime.GOOS {
			r.Format = o.Formats[0]
		}
	}
	render := strings.NewReplacer(
		"{{ .ProjectName }}", g.ProjectName, "{{ .Version }}", version,
		"{{ .Os }}", runtime.GOOS, "{{ .Arch }}", runtime.GOARCH,
		"{{ .FullCommit }}", r.Commit, "{{ .CommitDate }}", r.Date)
	r.Archive = render.Replace(ar.NameTemplate) + "." + r.Format
	r.Sums = render.Replace(g.Checksum.NameTemplate)
	r.Ldflags = render.Replace(bd.LDFlags[0])
	for _, s := range []string{r.Archive, r.Sums, r.Ldflags} {
		if strings.Contains(s, "{{") {
			t.Fatalf(".goreleaser.yaml uses a template this test does not render: %s", s)
		}
	}
	return r
}

// Publish builds cutover with the release's ldflags and writes the archive
// and its checksums file to dir/vVERSION, as a GitHub release serves them;
// sum, when not empty, replaces the archive's true SHA-256.
func Publish(t testing.TB, root string, r Release, dir, sum string) {
	t.Helper()
	rel := filepath.Join(dir, "v"+r.Version)
	if err := os.MkdirAll(rel, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), r.Binary)
	// Only the release's ldflags, not its -trimpath and CGO_ENABLED=0: those
	// would rebuild every dependency instead of reusing the build cache.
	cmd := exec.Command("go", "build", "-ldflags", r.Ldflags, "-o", exe, r.Main)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	name := r.Binary
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	archive := filepath.Join(rel, r.Archive)
	writeArchive(t, archive, r.Format, name, exe)
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
	lines := fmt.Sprintf("%x  cutover_%s_plan9_mips.tar.gz\n%s  %s\n", sha256.Sum256(nil), r.Version, sum, r.Archive)
	if err := os.WriteFile(filepath.Join(rel, r.Sums), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeArchive(t testing.TB, path, format, name, exe string) {
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
