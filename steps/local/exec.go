package local

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/internal/defaults"
	"github.com/cutoverhq/cutover/steps"
)

func init() { steps.Register(execKind{}) }

// execKind runs a local command from an argv list, never through a shell.
type execKind struct{}

func (execKind) Name() string { return "exec" }

func (execKind) Doc() string {
	return "Runs a local command from an argv list, never through a shell: a build, a test suite, a smoke " +
		"test, a script. A non-zero exit fails the stage and is retryable; the output keeps stdout and stderr " +
		"(up to 1 MiB each, cut with a marker) and stdout parsed as JSON when it is."
}

func (execKind) AttrDocs() map[string]string {
	return map[string]string{
		"command": "The program and its arguments, one string each (`[\"make\", \"test\"]`); the program is looked up in PATH.",
		"env":     "Variables added to the command's environment, which is cutover's own otherwise.",
		"dir":     "The working directory, relative to the pipeline directory (default: the pipeline directory).",
		"stdin":   "Text given to the command on its standard input (default: none).",
	}
}

// execConfig is the exec block.
type execConfig struct {
	Command []string          `hcl:"command,required"`
	Env     map[string]string `hcl:"env"`
	Dir     string            `hcl:"dir"`
	Stdin   *string           `hcl:"stdin"`
}

var execSpec = steps.SpecFor[execConfig]()

func (execKind) Spec() hcldec.Spec { return execSpec }

var execOutput = cty.Object(map[string]cty.Type{
	"exit_code": cty.Number,
	"stdout":    cty.String,
	"stderr":    cty.String,
	"json":      cty.DynamicPseudoType,
})

func (execKind) Output() cty.Type { return execOutput }

func (execKind) Check(cfg cty.Value) []steps.Problem {
	var c execConfig
	u, err := steps.Decode(cfg, &c)
	if err != nil || u.Has("command") {
		return steps.ProblemsOf(err)
	}
	if len(c.Command) == 0 {
		return []steps.Problem{{Path: []string{"command"}, Summary: "Empty command",
			Detail: `command is the argv of the program to run, such as ["kubectl", "version"]; it needs at least the program name.`}}
	}
	if strings.TrimSpace(c.Command[0]) == "" {
		return []steps.Problem{{Path: []string{"command"}, Summary: "Empty program name",
			Detail: "The first element of command names the program to run; it is empty."}}
	}
	return nil
}

// Plan says what would run; a command cannot be dry-run, so neither plan nor
// a dry run executes it.
func (execKind) Plan(_ context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	var c execConfig
	if _, err := steps.Decode(cfg, &c); err != nil {
		return "", err
	}
	return "would run " + quoteArgv(c.Command) + " in " + callout.WorkDir(pipelineDir(env), c.Dir), nil
}

func (k execKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	var cf execConfig
	if _, err := steps.Decode(cfg, &cf); err != nil {
		return cty.NilVal, err
	}
	argv := cf.Command
	if len(argv) == 0 || argv[0] == "" {
		return cty.NilVal, errors.New("exec: command is empty; give the program and its arguments as a list")
	}
	if env != nil && env.DryRun {
		env.Report("dry run: not running " + argv[0])
		return execResult(cty.NullVal(cty.Number), nil, nil), nil
	}
	c, err := callout.Local(argv, pipelineDir(env), cf.Dir, cf.Env)
	if err != nil {
		return cty.NilVal, fmt.Errorf("exec %s: %w", argv[0], err)
	}
	c.KillGrace, c.PipeGrace = defaults.ExecKillGrace, defaults.ExecPipeGrace
	if cf.Stdin != nil {
		c.Stdin = strings.NewReader(*cf.Stdin)
	}

	env.Report("running " + argv[0])
	res, waitErr := c.Run(ctx)
	if res == nil {
		// Exec format, permission denied: another attempt would fail the same way.
		return cty.NilVal, fmt.Errorf("exec %s: cannot start %s: %w", argv[0], c.Path, waitErr)
	}
	took := res.Took.Round(time.Millisecond)

	out := execResult(cty.NumberIntVal(int64(res.ExitCode)), res.Stdout, res.Stderr)
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		err := fmt.Errorf("exec %s: stopped after %s, its process group was killed: %w", argv[0], took, cause)
		if errors.Is(cause, context.DeadlineExceeded) {
			// A timed-out attempt may well pass the next time (a slow
			// registry, a busy runner); an interrupt must not be retried.
			return out, steps.Retryable(err)
		}
		return out, err
	}
	if waitErr != nil && !errors.Is(waitErr, exec.ErrWaitDelay) {
		var exitErr *exec.ExitError
		if !errors.As(waitErr, &exitErr) {
			return out, fmt.Errorf("exec %s: %w", argv[0], waitErr)
		}
		return out, steps.Retryable(exitError(argv[0], res, took))
	}
	return out, nil
}

// exitError names the program, how it ended and what it last said.
func exitError(name string, res *callout.Result, took time.Duration) error {
	how := fmt.Sprintf("exited with code %d", res.ExitCode)
	if res.Signal != "" {
		how = "was killed by " + res.Signal
	}
	msg := fmt.Sprintf("exec %s: %s after %s", name, how, took)
	// Test runners and linters report failures on stdout: both streams'
	// last lines, each named.
	stderr, stdout := res.Stderr.LastLines(10), res.Stdout.LastLines(10)
	if stdout != "" {
		msg += "; last lines of stdout:\n" + stdout
	}
	switch {
	case stderr != "":
		if stdout != "" {
			msg += "\n"
		} else {
			msg += ";"
		}
		msg += " last lines of stderr:\n" + stderr
	case stdout == "":
		msg += " (stdout and stderr were empty)"
	}
	return errors.New(msg)
}

func execResult(code cty.Value, stdout, stderr *callout.Buffer) cty.Value {
	o := map[string]cty.Value{
		"exit_code": code,
		"stdout":    cty.NullVal(cty.String),
		"stderr":    cty.NullVal(cty.String),
		"json":      cty.NullVal(cty.DynamicPseudoType),
	}
	if stdout != nil {
		o["stdout"] = cty.StringVal(stdout.String())
		o["stderr"] = cty.StringVal(stderr.String())
		o["json"] = steps.JSONValue(stdout.Bytes(), stdout.Truncated())
	}
	return cty.ObjectVal(o)
}

// pipelineDir is the directory the pipeline's relative paths resolve
// against, "" when the engine gave none (callout.BaseDir: the current one).
func pipelineDir(env *steps.Env) string {
	if env == nil {
		return ""
	}
	return env.Dir
}

func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return "[" + strings.Join(q, " ") + "]"
}
