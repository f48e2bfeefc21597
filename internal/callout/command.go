package callout

import (
	"context"
	"io"
	"os/exec"
	"time"
)

// Command is a local program to run: an argv, never a shell string.
type Command struct {
	// Path is the program: a path, or a name looked up in PATH as
	// exec.Command does.
	Path string
	// Name is the argv[0] the program sees; Path when empty. A program
	// resolved to an absolute path still sees the name it was given, as in
	// a shell.
	Name string
	Args []string // after argv[0]
	Dir  string
	Env  []string // nil: cutover's own environment
	// Stdin is nil for /dev/null: a CI job's stdin is never handed on.
	Stdin io.Reader
	// Limit is how many bytes of each of stdout and stderr are kept.
	Limit int
	// KillGrace is how long the process group has between SIGTERM and
	// SIGKILL once ctx ends.
	KillGrace time.Duration
	// PipeGrace bounds the wait for stdout/stderr to close after the
	// program exited, when a background child it left behind still holds
	// them (exec.Cmd.WaitDelay).
	PipeGrace time.Duration
}

// Result is what a command left: its capped outputs and how it ended.
type Result struct {
	Stdout, Stderr *Buffer
	// ExitCode is -1 when a signal ended the program.
	ExitCode int
	// Signal names the signal that ended it, "" if none did (or the
	// platform cannot say).
	Signal string
	Took   time.Duration
}

// Run starts the command in a process group of its own and waits for it.
// When ctx ends first, the whole group gets SIGTERM, then SIGKILL after
// KillGrace: a script's children and `make`'s recipes end with it, nothing
// is left running. A command that cannot start returns a nil Result and the
// error; otherwise the Result comes with exec.Cmd.Wait's error (an
// *exec.ExitError for a non-zero exit, exec.ErrWaitDelay for pipes held
// past PipeGrace), and the caller tells a cancellation by ctx.
func (c Command) Run(ctx context.Context) (*Result, error) {
	res := &Result{Stdout: NewBuffer(c.Limit), Stderr: NewBuffer(c.Limit)}
	cmd := exec.Command(c.Path, c.Args...)
	if c.Name != "" {
		cmd.Args[0] = c.Name
	}
	cmd.Dir, cmd.Env, cmd.Stdin = c.Dir, c.Env, c.Stdin
	cmd.Stdout, cmd.Stderr = res.Stdout, res.Stderr
	cmd.WaitDelay = c.PipeGrace
	setProcessGroup(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	err := waitOrKill(ctx, cmd, c.KillGrace)
	res.Took = time.Since(start)
	res.ExitCode = cmd.ProcessState.ExitCode()
	res.Signal = exitSignal(cmd.ProcessState)
	return res, err
}
