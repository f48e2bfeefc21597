package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/steps"
)

func TestExecSuccess(t *testing.T) {
	out, err := run(t, context.Background(), execKind{}, t.TempDir(),
		`command = ["sh", "-c", "echo hello; echo warn >&2"]`)
	if err != nil {
		t.Fatal(err)
	}
	if got := getInt(t, out, "exit_code"); got != 0 {
		t.Errorf("exit_code = %d, want 0", got)
	}
	if got := getStr(t, out, "stdout"); got != "hello\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := getStr(t, out, "stderr"); got != "warn\n" {
		t.Errorf("stderr = %q", got)
	}
	if !out.GetAttr("json").IsNull() {
		t.Errorf("json = %#v for non-JSON stdout, want null", out.GetAttr("json"))
	}
}

func TestExecJSON(t *testing.T) {
	out, err := run(t, context.Background(), execKind{}, t.TempDir(),
		`command = ["printf", "%s", "{\"version\": \"v2\", \"replicas\": 3, \"tags\": [\"a\"]}"]`)
	if err != nil {
		t.Fatal(err)
	}
	j := out.GetAttr("json")
	if j.IsNull() || j.GetAttr("version").AsString() != "v2" {
		t.Fatalf("json = %#v", j)
	}
	if !j.GetAttr("replicas").RawEquals(cty.NumberIntVal(3)) {
		t.Errorf("replicas = %#v", j.GetAttr("replicas"))
	}
}

func TestExecFailureIsRetryable(t *testing.T) {
	out, err := run(t, context.Background(), execKind{}, t.TempDir(),
		`command = ["sh", "-c", "echo line1 >&2; echo 'db migration failed' >&2; exit 3"]`)
	if err == nil {
		t.Fatal("want an error for exit code 3")
	}
	if !steps.IsRetryable(err) {
		t.Errorf("a non-zero exit must be retryable: %v", err)
	}
	for _, want := range []string{"exec sh", "code 3", "db migration failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if got := getInt(t, out, "exit_code"); got != 3 {
		t.Errorf("exit_code = %d, want 3", got)
	}
}

// A test runner reports its failures on stdout: the error shows both
// streams' last lines, each named.
func TestExecFailureShowsStdoutToo(t *testing.T) {
	_, err := run(t, context.Background(), execKind{}, t.TempDir(),
		`command = ["sh", "-c", "echo 'FAIL: TestCheckout (0.01s)'; echo 'exit status 1' >&2; exit 1"]`)
	if err == nil {
		t.Fatal("want an error for exit code 1")
	}
	for _, want := range []string{"last lines of stdout:\nFAIL: TestCheckout (0.01s)", "last lines of stderr:\nexit status 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestExecNotFoundIsFinal(t *testing.T) {
	_, err := run(t, context.Background(), execKind{}, t.TempDir(), `command = ["cutover-no-such-program"]`)
	if err == nil || steps.IsRetryable(err) {
		t.Fatalf("want a final error, got %v (retryable=%v)", err, steps.IsRetryable(err))
	}
	if !strings.Contains(err.Error(), "cutover-no-such-program") || !strings.Contains(err.Error(), "not found") {
		t.Errorf("error %q should name the program and say it was not found", err)
	}
}

func TestExecEnvAndStdin(t *testing.T) {
	t.Setenv("CUTOVER_INHERITED", "from-parent")
	out, err := run(t, context.Background(), execKind{}, t.TempDir(), `
command = ["sh", "-c", "printf '%s %s ' \"$CUTOVER_INHERITED\" \"$GREETING\"; cat"]
env     = { GREETING = "hello" }
stdin   = "from-stdin"
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := getStr(t, out, "stdout"); got != "from-parent hello from-stdin" {
		t.Errorf("stdout = %q", got)
	}
}

func TestExecEnvOverridesInherited(t *testing.T) {
	t.Setenv("CUTOVER_X", "old")
	out, err := run(t, context.Background(), execKind{}, t.TempDir(),
		`
command = ["sh", "-c", "env | grep -c '^CUTOVER_X='; printf %s \"$CUTOVER_X\""]
env = { CUTOVER_X = "new" }`)
	if err != nil {
		t.Fatal(err)
	}
	if got := getStr(t, out, "stdout"); got != "1\nnew" {
		t.Errorf("stdout = %q, want one CUTOVER_X with the new value", got)
	}
}

func TestExecDirAndRelativeProgram(t *testing.T) {
	base := t.TempDir()
	sub := filepath.Join(base, "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(base, "bin", "where.sh")
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("#!/bin/sh\npwd\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The program is relative to the pipeline directory, the working
	// directory relative to it too, and neither depends on cutover's cwd.
	out, err := run(t, context.Background(), execKind{}, base, `
command = ["./bin/where.sh"]
dir     = "sub"
`)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(sub)
	got, _ := filepath.EvalSymlinks(strings.TrimSpace(getStr(t, out, "stdout")))
	if got != want {
		t.Errorf("ran in %q, want %q", got, want)
	}

	out, err = run(t, context.Background(), execKind{}, base, `command = ["pwd"]`)
	if err != nil {
		t.Fatal(err)
	}
	want, _ = filepath.EvalSymlinks(base)
	got, _ = filepath.EvalSymlinks(strings.TrimSpace(getStr(t, out, "stdout")))
	if got != want {
		t.Errorf("default dir: ran in %q, want the pipeline directory %q", got, want)
	}
}

func TestExecPathFromEnv(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "cutover-hello"), []byte("#!/bin/sh\necho hi from path\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, context.Background(), execKind{}, t.TempDir(),
		`
command = ["cutover-hello"]
env = { PATH = "`+bin+`:/usr/bin:/bin" }`)
	if err != nil {
		t.Fatal(err)
	}
	if got := getStr(t, out, "stdout"); got != "hi from path\n" {
		t.Errorf("stdout = %q", got)
	}
}

func TestExecMissingDir(t *testing.T) {
	_, err := run(t, context.Background(), execKind{}, t.TempDir(), `
command = ["true"]
dir = "nope"`)
	if err == nil || steps.IsRetryable(err) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("want a final error naming the directory, got %v", err)
	}
}

func TestExecOutputIsCapped(t *testing.T) {
	out, err := run(t, context.Background(), execKind{}, t.TempDir(),
		`command = ["sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' a; echo tail-marker >&2"]`)
	if err != nil {
		t.Fatal(err)
	}
	s := getStr(t, out, "stdout")
	if len(s) > callout.MaxOutput+200 {
		t.Errorf("stdout kept %d bytes, cap is %d", len(s), callout.MaxOutput)
	}
	if !strings.Contains(s, "output truncated") {
		t.Errorf("truncated stdout has no marker: ...%q", s[len(s)-100:])
	}
	if !out.GetAttr("json").IsNull() {
		t.Error("truncated output must not be parsed as JSON")
	}
}

func TestExecDryRunDoesNotRun(t *testing.T) {
	dir := t.TempDir()
	cfg := decode(t, execKind{}, `command = ["touch", "ran"]`)
	var reports []string
	env := &steps.Env{Dir: dir, DryRun: true, Progress: func(m string) { reports = append(reports, m) }}
	if _, err := (execKind{}).Run(context.Background(), env, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dry run executed the command (stat: %v)", err)
	}
	if len(reports) != 1 || !strings.Contains(reports[0], "dry run") {
		t.Errorf("reports = %q", reports)
	}
}

func TestExecCheck(t *testing.T) {
	k := execKind{}
	if p := k.Check(decode(t, k, `command = []`)); len(p) != 1 || p[0].Path[0] != "command" {
		t.Errorf("empty command: problems = %+v", p)
	}
	if p := k.Check(decode(t, k, `command = [""]`)); len(p) != 1 {
		t.Errorf("empty program: problems = %+v", p)
	}
	// At load time a stage output may still be unknown: nothing to say.
	unknown := cty.ObjectVal(map[string]cty.Value{
		"command": cty.UnknownVal(cty.List(cty.String)),
		"env":     cty.NullVal(cty.Map(cty.String)), "dir": cty.NullVal(cty.String), "stdin": cty.NullVal(cty.String),
	})
	if p := k.Check(unknown); len(p) != 0 {
		t.Errorf("unknown command: problems = %+v", p)
	}
	partly := cty.ObjectVal(map[string]cty.Value{
		"command": cty.ListVal([]cty.Value{cty.UnknownVal(cty.String), cty.StringVal("x")}),
		"env":     cty.NullVal(cty.Map(cty.String)), "dir": cty.NullVal(cty.String), "stdin": cty.NullVal(cty.String),
	})
	if p := k.Check(partly); len(p) != 0 {
		t.Errorf("partly unknown command: problems = %+v", p)
	}
}

func TestExecRegistered(t *testing.T) {
	for _, n := range []string{"exec", "http"} {
		if _, ok := steps.Default.Lookup(n); !ok {
			t.Errorf("%s is not registered", n)
		}
	}
}
