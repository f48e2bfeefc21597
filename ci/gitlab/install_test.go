package gitlab

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/cutoverhq/cutover/internal/releasetest"
)

// installJob runs the template's before_script as the runner's shell
// would (its lines in one shell, stopping at the first failure), with
// CUTOVER_VERSION version and releases served from dir (file://). PATH
// holds the tools the script uses and neither cutover nor Go: what it
// installs comes from the release, never from a build.
func installJob(t *testing.T, version, dir string) (code int, log, bin string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "ci", "gitlab", "cutover.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Cutover struct {
			BeforeScript []string `json:"before_script"`
		} `json:".cutover"`
	}
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	if len(tpl.Cutover.BeforeScript) == 0 {
		t.Fatal(".cutover has no before_script")
	}
	tools := t.TempDir()
	for _, tool := range []string{"sh", "bash", "mktemp", "curl", "uname", "tr", "expr", "awk", "sha256sum", "tar", "gzip", "rm"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(tools, tool)); err != nil {
			t.Fatal(err)
		}
	}
	tmp := t.TempDir()
	// Where the installed cutover is, printed by the job for the test.
	job := "set -eo pipefail\n" + strings.Join(tpl.Cutover.BeforeScript, "\n") + "\ncommand -v cutover\n"
	cmd := exec.Command("bash", "-c", job)
	cmd.Env = []string{"PATH=" + tools, "HOME=" + tmp, "TMPDIR=" + tmp, "GITLAB_CI=true",
		"CUTOVER_VERSION=" + version, "CUTOVER_RELEASE_URL=file://" + dir}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return code, string(out), lines[len(lines)-1]
}

func TestTemplateInstallsRelease(t *testing.T) {
	rel := releasetest.Read(t, root, "9.9.9")
	dir := t.TempDir()
	releasetest.Publish(t, root, rel, dir, "")
	code, log, bin := installJob(t, "v9.9.9", dir)
	if code != 0 {
		t.Fatalf("before_script exited %d:\n%s", code, log)
	}
	for _, want := range []string{
		"Installed cutover v9.9.9 from file://" + dir + ", sha256 ",
		// `cutover version` of what it installed: the release's binary.
		"cutover v9.9.9 commit " + rel.Commit[:12] + " (" + rel.Date + ")",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if filepath.Base(bin) != "cutover" || strings.HasPrefix(bin, dir) {
		t.Errorf("cutover on PATH is %q, want the unpacked binary", bin)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(bin), "*")); len(left) != 1 {
		t.Errorf("the download is left beside the binary: %v", left)
	}
}

func TestTemplateRejectsWrongChecksum(t *testing.T) {
	rel := releasetest.Read(t, root, "9.9.9")
	dir := t.TempDir()
	bad := strings.Repeat("0", 64)
	releasetest.Publish(t, root, rel, dir, bad)
	code, log, _ := installJob(t, "9.9.9", dir)
	want := "cutover: checksum mismatch for " + rel.Archive + ": the release's checksums say '" + bad + "'"
	if code != 2 || !strings.Contains(log, want) {
		t.Errorf("exit %d, want 2 and %q in:\n%s", code, want, log)
	}
	if strings.Contains(log, "go install") || strings.Contains(log, "cutover v9.9.9") {
		t.Errorf("a checksum mismatch went on:\n%s", log)
	}
}
