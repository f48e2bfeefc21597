// Package github tests the composite GitHub Action (action.yml at the
// repository root) by running its steps the way the runner does.
package github

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/cutoverhq/cutover/internal/testcluster"
)

type actionFile struct {
	Inputs map[string]struct {
		Default string `json:"default"`
	} `json:"inputs"`
	Outputs map[string]struct {
		Value string `json:"value"`
	} `json:"outputs"`
	Runs struct {
		Using string `json:"using"`
		Steps []struct {
			Name  string            `json:"name"`
			ID    string            `json:"id"`
			Shell string            `json:"shell"`
			Run   string            `json:"run"`
			Env   map[string]string `json:"env"`
		} `json:"steps"`
	} `json:"runs"`
}

var root, _ = filepath.Abs("../..")

var (
	buildOnce sync.Once
	binDir    string
	buildErr  string
)

// cutoverOnPath builds cmd/cutover into a directory for PATH, once.
func cutoverOnPath(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cutover-action-bin")
		if err != nil {
			buildErr = err.Error()
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "cutover"), "./cmd/cutover")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err.Error() + "\n" + string(out)
			return
		}
		binDir = dir
	})
	if binDir == "" {
		// The binary is being written in parallel with this test; until it
		// builds there is nothing to run the action against.
		t.Skipf("cmd/cutover does not build yet:\n%s", buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	testcluster.StopShared(code != 0)
	os.Exit(code)
}

// run is what one action run left behind.
type run struct {
	code    int
	log     string
	outputs map[string]string // the action's outputs, as the runner maps them
	temp    string            // RUNNER_TEMP
}

var expr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// runAction executes the composite action's steps like the runner: each
// step's env expressions are evaluated, its run script goes to a file run
// with `bash --noprofile --norc -eo pipefail`, $GITHUB_OUTPUT is per step,
// a failing step stops the action.
// The workspace is dir/ws (see writePipeline), RUNNER_TEMP dir/runner-temp.
func runAction(t *testing.T, inputs map[string]string, dir string) run {
	t.Helper()
	return runActionWith(t, inputs, dir, cutoverOnPath(t))
}

// runActionWith runs the action with bin first on PATH and extra
// environment (KEY=value) for every step.
func runActionWith(t *testing.T, inputs map[string]string, dir, bin string, extra ...string) run {
	t.Helper()
	return runActionOpts(t, inputs, dir, actionOpts{bin: bin, extra: extra})
}

type actionOpts struct {
	bin   string   // first on PATH
	extra []string // KEY=value for every step
	// during, when set, runs beside the "run" step, which is started in a
	// process group of its own (so a test can end the whole tree like a
	// runner): p is the step's top process, exited is closed once the step
	// has exited. The step's result is read after during has returned.
	during    func(p *os.Process, exited <-chan struct{})
	ref       string // github.action_ref: "" is a checkout (uses: ./)
	stopAfter string // the id of the last step to run; "" runs them all
}

func runActionOpts(t *testing.T, inputs map[string]string, dir string, o actionOpts) run {
	t.Helper()
	bin, extra := o.bin, o.extra
	b, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using = %q, want composite", a.Runs.Using)
	}
	for name := range inputs {
		if _, ok := a.Inputs[name]; !ok {
			t.Fatalf("action.yml has no input %q", name)
		}
	}
	tmp := t.TempDir()
	workspace := filepath.Join(dir, "ws")
	home := filepath.Join(tmp, "home") // no ~/.kube/config here
	runnerTemp := filepath.Join(dir, "runner-temp")
	for _, d := range []string{home, runnerTemp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stepOutputs := map[string]map[string]string{}
	eval := func(s string) string {
		return expr.ReplaceAllStringFunc(s, func(m string) string {
			e := expr.FindStringSubmatch(m)[1]
			switch {
			case strings.HasPrefix(e, "inputs."):
				n := strings.TrimPrefix(e, "inputs.")
				if v, ok := inputs[n]; ok {
					return v
				}
				in, ok := a.Inputs[n]
				if !ok {
					t.Fatalf("action.yml refers to an undeclared input %q", n)
				}
				return in.Default
			case e == "github.action_ref":
				return o.ref
			case e == "github.token":
				return ""
			case strings.HasPrefix(e, "steps."):
				p := strings.Split(e, ".")
				if len(p) != 4 || p[2] != "outputs" {
					t.Fatalf("unsupported expression %q", e)
				}
				return stepOutputs[p[1]][p[3]]
			}
			t.Fatalf("expression %q is not one this test knows how to evaluate", e)
			return ""
		})
	}
	var log strings.Builder
	r := run{temp: runnerTemp}
	for i, st := range a.Runs.Steps {
		if st.Shell != "bash" {
			t.Fatalf("step %q: shell %q, want bash", st.Name, st.Shell)
		}
		if expr.MatchString(st.Run) {
			t.Fatalf("step %q expands an expression inside its script (script injection): %q", st.Name, st.Run)
		}
		script := filepath.Join(tmp, "step.sh")
		if err := os.WriteFile(script, []byte(st.Run), 0o644); err != nil {
			t.Fatal(err)
		}
		outFile := filepath.Join(tmp, "output-"+strconv.Itoa(i))
		var err error
		env := []string{
			"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
			"HOME=" + home,
			"GOCACHE=" + os.Getenv("GOCACHE"),
			"GITHUB_ACTIONS=true",
			"CI=true",
			"GITHUB_ACTION_PATH=" + root,
			"GITHUB_WORKSPACE=" + workspace,
			"GITHUB_OUTPUT=" + outFile,
			"GITHUB_STEP_SUMMARY=" + filepath.Join(tmp, "summary.md"),
			"GITHUB_PATH=" + filepath.Join(tmp, "path"),
			"RUNNER_TEMP=" + runnerTemp,
		}
		env = append(env, extra...)
		for k, v := range st.Env {
			env = append(env, k+"="+eval(v))
		}
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		cmd.Dir, cmd.Env = workspace, env
		var out []byte
		if st.ID == "run" && o.during != nil {
			out, err = runDuring(t, cmd, o.during)
		} else {
			out, err = cmd.CombinedOutput()
		}
		log.Write(out)
		if st.ID != "" {
			stepOutputs[st.ID] = parseOutputFile(t, outFile)
		}
		if err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatal(err)
			}
			r.code = ee.ExitCode() // -1: ended by a signal
			break
		}
		if st.ID != "" && st.ID == o.stopAfter {
			break
		}
	}
	r.log = log.String()
	r.outputs = map[string]string{}
	for name, o := range a.Outputs {
		r.outputs[name] = eval(o.Value)
	}
	return r
}

// parseOutputFile reads $GITHUB_OUTPUT: name=value and name<<DELIM forms.
func parseOutputFile(t *testing.T, path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if name, delim, ok := strings.Cut(l, "<<"); ok {
			var v []string
			closed := false
			for sc.Scan() {
				if sc.Text() == delim {
					closed = true
					break
				}
				v = append(v, sc.Text())
			}
			if !closed {
				t.Fatalf("GITHUB_OUTPUT: heredoc %s not closed", delim)
			}
			out[name] = strings.Join(v, "\n")
			continue
		}
		k, v, _ := strings.Cut(l, "=")
		out[k] = v
	}
	return out
}

// writePipeline writes a pipeline to dir/ws/deploy/main.hcl and returns dir.
func writePipeline(t *testing.T, hcl string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "ws", "deploy")
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "main.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const fakeToken = "kubeconfig-token-5ecret"

func TestActionRunsPipeline(t *testing.T) {
	// The kubeconfig names no cluster: the pipeline reaches none, so it
	// neither journals (--no-journal) nor locks (lock = false) there.
	dir := writePipeline(t, `
pipeline "hello" { lock = false }
variable "greeting" { type = string }
variable "tmp" { type = string }
stage "say" {
  exec { command = ["printf", "%s", var.greeting] }
}
stage "kubeconfig" {
  depends_on = [stage.say]
  exec { command = ["find", var.tmp, "-name", "kubeconfig.*", "-perm", "0600"] }
}
output "said" { value = stage.say.output.stdout }
output "kubeconfig_files" { value = stage.kubeconfig.output.stdout }
`)
	// A value a shell would expand: it must arrive as these characters.
	greeting := "hello $(touch PWNED) `touch PWNED2` ; \"quoted\" 'single' = x"
	junit := filepath.Join(dir, "cutover.xml")
	r := runAction(t, map[string]string{
		"pipeline":   "deploy",
		"vars":       "greeting=" + greeting + "\r\n\n  tmp=" + filepath.Join(dir, "runner-temp") + "\n",
		"kubeconfig": "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: " + fakeToken + "\n",
		"args":       "--no-journal\n--junit\n" + junit,
	}, dir)
	if r.code != 0 {
		t.Fatalf("action failed with exit %d:\n%s", r.code, r.log)
	}
	if r.outputs["result"] != "succeeded" || r.outputs["run-id"] == "" {
		t.Errorf("outputs result=%q run-id=%q, want succeeded and an id\n%s", r.outputs["result"], r.outputs["run-id"], r.log)
	}
	var outs map[string]string
	if err := json.Unmarshal([]byte(r.outputs["outputs"]), &outs); err != nil {
		t.Fatalf("outputs is not a JSON object: %v: %q", err, r.outputs["outputs"])
	}
	if outs["said"] != greeting {
		t.Errorf("the variable arrived as %q, want %q", outs["said"], greeting)
	}
	for _, f := range []string{"PWNED", "PWNED2"} {
		if _, err := os.Stat(filepath.Join(dir, "ws", f)); err == nil {
			t.Errorf("a variable value was run by a shell: %s exists", f)
		}
	}
	// The kubeconfig existed with mode 0600 while cutover ran, and is gone.
	if !strings.Contains(outs["kubeconfig_files"], filepath.Join(dir, "runner-temp", "kubeconfig.")) {
		t.Errorf("no 0600 kubeconfig in RUNNER_TEMP during the run: %q", outs["kubeconfig_files"])
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "runner-temp", "kubeconfig.*")); len(left) > 0 {
		t.Errorf("kubeconfig left behind: %v", left)
	}
	if strings.Contains(r.log, fakeToken) {
		t.Errorf("the kubeconfig's token is in the log:\n%s", r.log)
	}
	if _, err := os.Stat(junit); err != nil {
		t.Errorf("extra args not passed (--junit): %v", err)
	}
	if !strings.Contains(r.log, "Using ") {
		t.Errorf("install did not take the cutover on PATH:\n%s", r.log)
	}
}

func TestActionFailedPipeline(t *testing.T) {
	dir := writePipeline(t, `
pipeline "broken" {}
stage "fail" {
  exec { command = ["false"] }
}
`)
	r := runAction(t, map[string]string{"pipeline": "deploy", "version": "path"}, dir)
	if r.code != 1 {
		t.Fatalf("exit %d, want cutover's 1 (failed, undone):\n%s", r.code, r.log)
	}
	if !strings.HasPrefix(r.outputs["result"], "failed") {
		t.Errorf("result = %q, want failed…\n%s", r.outputs["result"], r.log)
	}
	if !strings.Contains(r.log, "::error file=deploy/main.hcl") {
		t.Errorf("no annotation on the failing stage:\n%s", r.log)
	}
}

// fakeCutover records its arguments (NUL-separated) and the mode and content
// of the kubeconfig it was given, and answers like cutover would on GitHub.
const fakeCutover = `#!/usr/bin/env bash
set -euo pipefail
if [[ $1 == version ]]; then echo "cutover v0.0.0-fake"; exit 0; fi
printf '%s\0' "$@" >"$FAKE_OUT/argv"
prev=
for a in "$@"; do
	if [[ $prev == --kubeconfig ]]; then stat -c %a "$a" >"$FAKE_OUT/mode"; cp "$a" "$FAKE_OUT/kubeconfig"; fi
	prev=$a
done
printf 'result<<X\nsucceeded\nX\nrun-id<<X\nr-1\nX\n' >>"$GITHUB_OUTPUT"
`

// TestActionArgv checks the argv the action builds from its inputs, with a
// stand-in for cutover: every input becomes whole arguments, in order.
func TestActionArgv(t *testing.T) {
	dir := writePipeline(t, "")
	bin, out := filepath.Join(dir, "bin"), filepath.Join(dir, "out")
	for _, d := range []string{bin, out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "cutover"), []byte(fakeCutover), 0o755); err != nil {
		t.Fatal(err)
	}
	kubeconfig := "apiVersion: v1\nusers:\n- user:\n    token: " + fakeToken
	r := runActionWith(t, map[string]string{
		"pipeline":   "-odd dir",
		"vars":       "a=1\n  b=two words $(id)\r\n\n",
		"var-files":  "prod.hcl\nsecrets file.hcl",
		"kubeconfig": kubeconfig,
		"context":    "kind-ci",
		"namespace":  "shop",
		"dry-run":    "true",
		"args":       "--junit\nreport dir/cutover.xml\n--wait-lock",
	}, dir, bin, "FAKE_OUT="+out)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.log)
	}
	b, err := os.ReadFile(filepath.Join(out, "argv"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	kcIdx := -1
	for i, a := range got {
		if a == "--kubeconfig" && i+1 < len(got) {
			kcIdx = i + 1
		}
	}
	if kcIdx < 0 {
		t.Fatalf("no --kubeconfig in %q", got)
	}
	want := []string{"run", "-var", "a=1", "-var", "b=two words $(id)", "-var-file", "prod.hcl", "-var-file", "secrets file.hcl",
		"--kubeconfig", got[kcIdx], "--context", "kind-ci", "--namespace", "shop", "--dry-run=server",
		"--junit", "report dir/cutover.xml", "--wait-lock", "./-odd dir"}
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("argv:\n got %q\nwant %q", got, want)
	}
	if mode, _ := os.ReadFile(filepath.Join(out, "mode")); strings.TrimSpace(string(mode)) != "600" {
		t.Errorf("kubeconfig mode %q, want 600", mode)
	}
	if kc, _ := os.ReadFile(filepath.Join(out, "kubeconfig")); strings.TrimSpace(string(kc)) != kubeconfig {
		t.Errorf("kubeconfig content %q", kc)
	}
	if _, err := os.Stat(got[kcIdx]); err == nil {
		t.Error("the kubeconfig file outlived the step")
	}
	if strings.Contains(r.log, fakeToken) {
		t.Errorf("token in the log:\n%s", r.log)
	}
	if r.outputs["result"] != "succeeded" || r.outputs["run-id"] != "r-1" {
		t.Errorf("action outputs not wired to the run step: %q", r.outputs)
	}
}

func TestActionRejectsBadInputs(t *testing.T) {
	dir := writePipeline(t, "pipeline \"p\" {}\n")
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "cutover"), []byte(fakeCutover), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"dry-run", map[string]string{"dry-run": "maybe"}, "dry-run must be true or false"},
		{"var without =", map[string]string{"vars": "ok=1\nsecretvalue"}, "vars: line 2 is not name=value"},
		{"two kubeconfigs", map[string]string{"kubeconfig": "x", "kubeconfig-path": "y"}, "give kubeconfig or kubeconfig-path, not both"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runActionWith(t, c.inputs, dir, bin, "FAKE_OUT="+dir)
			if r.code != 2 || !strings.Contains(r.log, "::error title=cutover action::"+c.want) {
				t.Errorf("exit %d, log:\n%s\nwant exit 2 and %q", r.code, r.log, c.want)
			}
			if strings.Contains(r.log, "secretvalue") {
				t.Error("the malformed line was printed")
			}
		})
	}
}
