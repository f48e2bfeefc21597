package analysis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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
			"`result` is `{ exit_code, stdout, stderr, json }` (json: stdout parsed, or null). A non-zero exit is a " +
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
	env     []string
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
	p := &execProvider{argv: c.Command, dir: c.Dir, timeout: c.Timeout}
	if len(p.argv) == 0 || p.argv[0] == "" {
		return nil, errors.New(`exec: command must name a program, such as ["./check.sh", "--fast"]`)
	}
	base := ""
	if env != nil {
		base = env.Dir
	}
	if p.dir == "" {
		p.dir = base
	} else if !filepath.IsAbs(p.dir) && base != "" {
		p.dir = filepath.Join(base, p.dir)
	}
	extra := c.Env
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p.env = os.Environ()
	for _, k := range keys {
		p.env = append(p.env, k+"="+extra[k])
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
	res, err := callout.Command{Path: p.argv[0], Args: p.argv[1:], Dir: p.dir, Env: p.env,
		Limit: maxBody, KillGrace: defaults.MeasureKillGrace, PipeGrace: defaults.MeasurePipeGrace}.Run(ctx)
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
	stdout, stderr := res.Stdout.Bytes(), res.Stderr.Bytes()
	r := cty.ObjectVal(map[string]cty.Value{
		"exit_code": cty.NumberIntVal(int64(code)),
		"stdout":    cty.StringVal(text(stdout)),
		"stderr":    cty.StringVal(text(stderr)),
		"json":      steps.JSONValue(stdout, res.Stdout.Truncated()),
	})
	value := "exit " + strconv.Itoa(code)
	if code != 0 {
		if last := lastLine(string(stderr)); last != "" {
			value += ": " + last
		}
	}
	return r, value, nil
}

// lastLine is the last non-empty line of s, cut to a readable length.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 200 {
		l = l[:200] + "…"
	}
	return strings.ToValidUTF8(l, "?")
}
