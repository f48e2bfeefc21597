package analysis

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/internal/defaults"
	"github.com/cutoverhq/cutover/steps"
)

func init() {
	RegisterProvider(&Provider{
		Name:  "exec",
		Order: 40,
		Doc: "Runs a local command per measurement, from an argv list, never through a shell. " +
			"`result` is `{ exit_code, stdout, stderr, json }` (json: stdout parsed, or null; stdout and stderr kept up to 1 MiB each, " +
			"cut with a marker). A non-zero exit is a " +
			"result the conditions judge; without a condition, exit code 0 is Successful. A command that cannot " +
			"start or outlives `timeout` is an Error measurement.",
		AttrDocs: execDocs,
		Attrs:    steps.SpecFor[execConfig](),
		Check:    checkExec,
		New: func(b cty.Value, env *steps.Env) (Measurer, error) {
			return newExec(b, env)
		},
		Verdict: execVerdict,
	})
}

// execProvider runs a local command per measurement, from an argv list,
// never through a shell string. result is
//
//	{ exit_code = 0, stdout = "…", stderr = "…", json = <stdout parsed, or null> }
//
// A non-zero exit is a result, not an error: the conditions judge it, and
// without any condition a measurement is Successful on exit code 0. A
// command that cannot start, or outlives timeout (default 1m), is an Error
// measurement.
type execProvider struct {
	argv    []string
	env     map[string]string
	base    string // the pipeline's directory
	dir     string
	timeout time.Duration
}

// execDocs describe execConfig's attributes in the reference.
var execDocs = map[string]string{
	"command": "The program and its arguments, one string each (`[\"./smoke.sh\", var.url]`); the program is looked up in PATH.",
	"env":     "Variables added to the command's environment, which is cutover's own otherwise.",
	"dir":     "The working directory, relative to the pipeline directory (default: the pipeline directory).",
	"timeout": "How long one run of the command may take, with its unit (default `\"1m\"`); it is killed then.",
}

// execConfig is an exec block.
type execConfig struct {
	Command []string          `hcl:"command,required"`
	Env     map[string]string `hcl:"env"`
	Dir     string            `hcl:"dir"`
	Timeout time.Duration     `hcl:"timeout"`
}

func newExecConfig() execConfig { return execConfig{Timeout: defaults.ExecMeasureTimeout} }

func newExec(b cty.Value, env *steps.Env) (*execProvider, error) {
	c := newExecConfig()
	if _, err := steps.Decode(b, &c); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	p := &execProvider{argv: c.Command, env: c.Env, dir: c.Dir, timeout: c.Timeout}
	if len(p.argv) == 0 || p.argv[0] == "" {
		return nil, errors.New(`exec: command must name a program, such as ["./check.sh", "--fast"]`)
	}
	if env != nil {
		p.base = env.Dir
	}
	return p, nil
}

func checkExec(b cty.Value, path []string) []steps.Problem {
	c := newExecConfig()
	u, out := decodeAt(b, &c, path)
	if !u.Has("command") && len(c.Command) == 0 {
		out = append(out, problem(path, "command", "Empty command",
			`command is an argv list and needs at least the program, such as ["curl", "-fsS", "http://app/healthz"].`))
	}
	return out
}

func (p *execProvider) Describe() string {
	return "exec " + strconv.Quote(p.argv[0])
}

// execVerdict: exit code 0 is Successful.
func execVerdict(r cty.Value) Phase {
	res := struct {
		ExitCode int `hcl:"exit_code"`
	}{-1}
	if _, err := steps.Decode(r, &res); err == nil && res.ExitCode == 0 {
		return Successful
	}
	return Failed
}

func (p *execProvider) Measure(ctx context.Context) (cty.Value, string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// Looked up per measurement, as the exec step does per attempt: an
	// earlier stage may have put the program in place.
	cmd, err := callout.Local(p.argv, p.base, p.dir, p.env)
	if err != nil {
		return cty.NilVal, "", fmt.Errorf("command %q: %w", p.argv[0], err)
	}
	cmd.KillGrace, cmd.PipeGrace = defaults.MeasureKillGrace, defaults.MeasurePipeGrace
	res, err := cmd.Run(ctx)
	if res == nil {
		return cty.NilVal, "", fmt.Errorf("command %q: %w", p.argv[0], err)
	}
	var exit *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return cty.NilVal, "", fmt.Errorf("command %q did not finish within %s", p.argv[0], p.timeout)
	case errors.As(err, &exit):
		// a non-zero exit: a result for the conditions to judge
	case err != nil:
		return cty.NilVal, "", fmt.Errorf("command %q: %w", p.argv[0], err)
	}
	code := res.ExitCode
	r := cty.ObjectVal(map[string]cty.Value{
		"exit_code": cty.NumberIntVal(int64(code)),
		"stdout":    cty.StringVal(res.Stdout.String()),
		"stderr":    cty.StringVal(res.Stderr.String()),
		"json":      steps.JSONValue(res.Stdout.Bytes(), res.Stdout.Truncated()),
	})
	value := "exit " + strconv.Itoa(code)
	if code != 0 {
		if last := res.Stderr.LastLines(1); last != "" {
			value += ": " + shorten(last)
		}
	}
	return r, value, nil
}

// shorten cuts a line to a readable length for a measurement's value.
func shorten(l string) string {
	if len(l) > 200 {
		l = string(callout.ValidPrefix([]byte(l[:200]))) + "…"
	}
	return l
}
