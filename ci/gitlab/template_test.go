// Package gitlab tests the GitLab CI template (cutover.gitlab-ci.yml) by
// running its script the way GitLab Runner's shell executor does.
package gitlab

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

var root, _ = filepath.Abs("../..")

type template struct {
	Cutover struct {
		Variables map[string]string `json:"variables"`
		Script    []string          `json:"script"`
	} `json:".cutover"`
}

// The pipeline: a stage that is done (its undo leaves a mark) and a long
// one the cancel arrives in.
const pipeline = `
pipeline "cancel" {}
variable "dir" { type = string }
stage "done" {
  exec { command = ["true"] }
  undo {
    exec { command = ["sh", "-c", "echo undid done >> \"$0/undo.log\"", var.dir] }
  }
}
stage "long" {
  depends_on = [stage.done]
  exec { command = ["sh", "-c", "touch \"$0/started\"; exec sleep 60", var.dir] }
}
`

// TestTemplateCancel: a cancelled job's SIGTERM, sent by the shell executor
// to the job's process group, reaches cutover once; cutover undoes, writes
// its reports and its exit code is the job's.
func TestTemplateCancel(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "ci", "gitlab", "cutover.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl template
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	if len(tpl.Cutover.Script) != 1 {
		t.Fatalf(".cutover has %d script entries, this test knows one", len(tpl.Cutover.Script))
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "cutover"), "./cmd/cutover")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		// Like ci/github: the binary is being changed beside this test.
		t.Skipf("cmd/cutover does not build yet: %v\n%s", err, out)
	}
	ws := filepath.Join(dir, "ws")
	if err := os.MkdirAll(filepath.Join(ws, "deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "deploy", "main.hcl"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}

	// The job script as the runner's bash shell writes it: TERM ends the
	// outer shell, the job's lines are evaluated in a subshell.
	job := "trap exit 1 TERM\nset -eo pipefail\n: | (eval " + shellQuote(tpl.Cutover.Script[0]) + ")\nexit 0\n"
	cmd := exec.Command("bash", "-c", job)
	cmd.Dir = ws
	cmd.Env = []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + dir,
		"GITLAB_CI=true",
		"CI=true",
		"CUTOVER_VAR_dir=" + dir,
		"CUTOVER_PIPELINE=deploy",
		"CUTOVER_ARGS=--no-journal --grace 8s",
	}
	for k, v := range tpl.Cutover.Variables {
		if k != "CUTOVER_PIPELINE" && k != "CUTOVER_ARGS" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }()

	// Cancel once the long stage runs.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for started := false; !started; {
		select {
		case err := <-done:
			t.Fatalf("the job ended before the long stage started: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("the long stage never started:\n%s", out.String())
		case <-tick.C:
			_, err := os.Stat(filepath.Join(dir, "started"))
			started = err == nil
		}
	}
	sent := time.Now()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	var werr error
	select {
	case werr = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the job still runs 10s after SIGTERM:\n%s", out.String())
	}
	t.Logf("SIGTERM to job exit: %v", time.Since(sent).Round(time.Millisecond))

	code := 0
	if ee, ok := werr.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if werr != nil {
		t.Fatal(werr)
	}
	// The outer shell's TERM trap (exit 1) runs after the script has
	// ended; with cutover's status the runner would report the job failed
	// either way. What matters: cutover ran its undo to the end.
	if code == 0 {
		t.Errorf("a cancelled job exited 0:\n%s", out.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "undo.log")); strings.Count(string(b), "undid done") != 1 {
		t.Errorf("undo.log %q, want the completed stage undone once:\n%s", b, out.String())
	}
	if !strings.Contains(out.String(), "Result: interrupted") {
		t.Errorf("cutover did not end as interrupted:\n%s", out.String())
	}
	env, err := os.ReadFile(filepath.Join(ws, "cutover.env"))
	if err != nil || !strings.Contains(string(env), "CUTOVER_RESULT=interrupted") {
		t.Errorf("dotenv report %q (%v), want CUTOVER_RESULT=interrupted", env, err)
	}
	if _, err := os.Stat(filepath.Join(ws, "cutover-junit.xml")); err != nil {
		t.Errorf("no JUnit report: %v", err)
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// TestFleetExample: the fleet example's jobs do what docs/ci.md says a
// fan-out needs: joins that run when a share failed (to report, and to
// undo on the release's verdict), one resource_group per target for the
// share jobs, and a release only for a tag.
func TestFleetExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "ci", "gitlab", "fleet.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		Extends       string            `json:"extends"`
		Stage         string            `json:"stage"`
		When          string            `json:"when"`
		ResourceGroup string            `json:"resource_group"`
		Script        []string          `json:"script"`
		Variables     map[string]string `json:"variables"`
		Parallel      *struct {
			Matrix []map[string][]string `json:"matrix"`
		} `json:"parallel"`
	}
	var doc map[string]json.RawMessage
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]job{}
	for name, raw := range doc {
		var j job
		if json.Unmarshal(raw, &j) == nil {
			jobs[name] = j
		}
	}
	var wf struct {
		Rules []struct {
			If string `json:"if"`
		} `json:"rules"`
	}
	if err := json.Unmarshal(doc["workflow"], &wf); err != nil || len(wf.Rules) != 1 || wf.Rules[0].If != "$CI_COMMIT_TAG" {
		t.Errorf("workflow rules %+v (%v), want the pipeline to run for a tag only (the version is the tag)", wf.Rules, err)
	}
	if rg := jobs[".share"].ResourceGroup; !strings.Contains(rg, "$TARGET") {
		t.Errorf(".share resource_group %q, want one per target ($TARGET)", rg)
	}
	joins, shares := 0, 0
	for name, j := range jobs {
		switch j.Extends {
		case ".join":
			joins++
		case ".share":
			shares++
			if j.Parallel == nil || len(j.Parallel.Matrix) != 1 || len(j.Parallel.Matrix[0]["TARGET"]) == 0 {
				t.Errorf("share job %s has no TARGET matrix", name)
			}
		}
	}
	if joins != 2 || shares != 2 {
		t.Errorf("%d join and %d share jobs, want 2 of each (one per wave)", joins, shares)
	}
	join := jobs[".join"]
	if join.When != "always" {
		t.Errorf(".join when %q, want always: it must run when a share failed", join.When)
	}
	if s := strings.Join(join.Script, "\n"); !strings.Contains(s, "cutover join") || !strings.Contains(s, "|| {") || !strings.Contains(s, "cutover undo") {
		t.Errorf(".join script %q, want join, then undo when it fails", s)
	}
}
