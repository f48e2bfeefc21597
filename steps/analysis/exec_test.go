package analysis

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
	"github.com/cutoverhq/cutover/steps/stepstest"
)

func TestExecVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name, block string
		want        Phase
		lastValue   string
	}{
		{"exit 0 passes without a condition", `command = ["sh", "-c", "exit 0"]`, Successful, "exit 0"},
		{"non-zero exit fails without a condition", `command = ["sh", "-c", "echo draining >&2; exit 3"]`, Failed, "exit 3: draining"},
		{"condition over json stdout", "command = [\"sh\", \"-c\", \"echo '{\\\"in_flight\\\": 0}'\"]\ncondition = result.json.in_flight == 0", Successful, "exit 0"},
		{"condition over stdout text", "command = [\"sh\", \"-c\", \"echo UP\"]\ncondition = trimspace(result.stdout) == \"DOWN\"", Failed, "exit 0"},
		{"env and dir", "command = [\"sh\", \"-c\", \"test \\\"$MODE\\\" = canary && test -f marker\"]\nenv = { MODE = \"canary\" }\ndir = \"sub\"", Successful, "exit 0"},
		{"exit code in a condition", "command = [\"sh\", \"-c\", \"exit 2\"]\ncondition = result.exit_code == 2", Successful, "exit 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sub", "marker"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			env, cfg := inline(t, "exec {\n"+tc.block+"\n}", nil)
			env.Dir = dir
			out, _, err := runFake(t, env, cfg)
			if got := stepstest.Str(out, "phase"); got != string(tc.want) {
				t.Fatalf("phase = %q, want %s (err %v)", got, tc.want, err)
			}
			var v *Verdict
			if (tc.want == Successful) != (err == nil) || (err != nil && !errors.As(err, &v)) {
				t.Errorf("err = %v", err)
			}
			m := out.GetAttr("measurements").Index(cty.NumberIntVal(0))
			if got := stepstest.Str(m, "value"); got != tc.lastValue {
				t.Errorf("value = %q, want %q", got, tc.lastValue)
			}
		})
	}
}

func TestExecErrors(t *testing.T) {
	for _, tc := range []struct{ name, block, want string }{
		{"missing program", `command = ["/nonexistent/cutover-check"]`, "no such file"},
		{"timeout", "command = [\"sleep\", \"30\"]\ntimeout = \"100ms\"", "did not finish within 100ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, cfg := inline(t, "exec {\n"+tc.block+"\n}", nil)
			out, _, err := runFake(t, env, cfg)
			var v *Verdict
			if !errors.As(err, &v) || v.Phase != Error || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an Error verdict mentioning %q", err, tc.want)
			}
			// consecutive_error_limit defaults to 4: five errors end it.
			if n := out.GetAttr("measurements").LengthInt(); n != 5 {
				t.Errorf("%d measurements, want 5", n)
			}
		})
	}
}

func TestExecResult(t *testing.T) {
	p, err := newExec(cty.ObjectVal(map[string]cty.Value{
		"command": cty.ListVal([]cty.Value{cty.StringVal("sh"), cty.StringVal("-c"), cty.StringVal(`printf '[1,2]'; printf 'warn\n' >&2`)}),
	}), &steps.Env{})
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := p.Measure(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%d|%s|%s|%d", stepstest.Int(r, "exit_code", -1), stepstest.Str(r, "stdout"), stepstest.Str(r, "stderr"), r.GetAttr("json").LengthInt())
	if got != "0|[1,2]|warn\n|2" {
		t.Errorf("result = %s", got)
	}
}
