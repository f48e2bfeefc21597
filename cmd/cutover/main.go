// Command cutover runs declarative release pipelines against Kubernetes.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	_ "github.com/cutoverhq/cutover/steps/all"
)

// Exit codes (docs/design.md, "Exit codes").
const (
	exitOK          = 0
	exitFailed      = 1
	exitInvalid     = 2
	exitIncomplete  = 3
	exitLockHeld    = 4
	exitFindings    = 5   // fmt -check: files not formatted; lint: an error finding
	exitInterrupted = 130 // SIGINT; SIGTERM is 143
)

type command struct {
	summary string
	run     func(c *cli, args []string) int
}

var commands = map[string]command{
	"validate": {"report every problem in a pipeline; exit 2 when invalid", cmdValidate},
	"plan":     {"show what a run would do, stage by stage", cmdPlan},
	"run":      {"run a pipeline", cmdRun},
	"graph":    {"print the stage graph (--format dot|mermaid)", cmdGraph},
	"fmt":      {"format .hcl files in place, subdirectories too (-check: only report, -diff: show)", cmdFmt},
	"lint":     {"zero-downtime findings on Kubernetes manifests: files, directories, - for stdin", cmdLint},
	"status":   {"show runs in progress and the last run of each pipeline", cmdStatus},
	"history":  {"list past runs", cmdHistory},
	"undo":     {"undo a run from its journal: undo RUN [PATH]", cmdUndo},
	"approve":  {"answer a pause stage of a run: approve RUN [STAGE]", cmdApprove},
	"abort":    {"abort a run at its pause stage: abort RUN [STAGE]", cmdAbort},
	"rbac":     {"print the Role a pipeline's runs need (namespaced, least privilege)", cmdRBAC},
	"version":  {"print the version", cmdVersion},
}

// cli carries the process's streams and environment, so tests and
// testscript drive the same code as the binary.
type cli struct {
	stdin          io.Reader // lint -
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        []string
}

func main() {
	// client-go logs through klog on its own (discovery failures, client
	// throttling); cutover reports what matters itself, once and readably.
	// CUTOVER_KLOG=1 brings them back for a bug report.
	if os.Getenv("CUTOVER_KLOG") == "" {
		klog.SetLogger(logr.Discard())
	}
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, environ: os.Environ()}
	os.Exit(c.main(os.Args[1:]))
}

func (c *cli) main(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		c.usage(c.stdout)
		if len(args) == 0 {
			return exitInvalid
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "-v" {
		return cmdVersion(c, nil)
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "cutover: unknown command %q\n\n", args[0])
		c.usage(c.stderr)
		return exitInvalid
	}
	return cmd.run(c, args[1:])
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: cutover COMMAND [PATH] [flags]")
	fmt.Fprintln(w, "\nCommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nFlags may come before or after PATH, with one dash or two. 'cutover COMMAND -h' lists them.")
	fmt.Fprintln(w, "Exit codes: 0 success, 1 failed and undone, 2 invalid input, 3 undo incomplete, 4 lock held, 5 fmt -check/lint findings, 130/143 interrupted.")
}

func (c *cli) errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(c.stderr, "cutover: "+strings.TrimRight(msg, "\n"))
}
