package main

import (
	"flag"
	"fmt"
	"github.com/zclconf/go-cty/cty"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cutoverhq/cutover/internal/defaults"
)

// listFlag collects a repeatable flag (-var a=1 -var b=2).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// dryRunFlag is --dry-run (meaning server) or --dry-run=server|none.
type dryRunFlag string

func (d *dryRunFlag) String() string   { return string(*d) }
func (d *dryRunFlag) IsBoolFlag() bool { return true }
func (d *dryRunFlag) Set(v string) error {
	switch v {
	case "true", "server":
		*d = "server"
	case "false", "none", "":
		*d = ""
	default:
		return fmt.Errorf("--dry-run is \"server\" or \"none\", not %q", v)
	}
	return nil
}

// waitFlag is --wait-lock (10 minutes) or --wait-lock=DURATION: how long to
// wait for a lock someone else holds. Unbounded waiting would let a stuck
// CI job hang every later release until the job's own timeout.
type waitFlag time.Duration

const defaultWaitLock = defaults.WaitLock

func (w *waitFlag) String() string   { return time.Duration(*w).String() }
func (w *waitFlag) IsBoolFlag() bool { return true }
func (w *waitFlag) Set(v string) error {
	switch v {
	case "true", "":
		*w = waitFlag(defaultWaitLock)
	case "false":
		*w = 0
	default:
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("--wait-lock takes a duration such as 5m, not %q", v)
		}
		*w = waitFlag(d)
	}
	return nil
}

// options are the flags every command accepts; a command reads
// those it needs.
type options struct {
	kubeconfig, context, namespace string
	vars, varFiles                 listFlag
	output                         string
	junit, summary                 string
	dryRun                         dryRunFlag
	grace                          time.Duration
	waitLock                       waitFlag
	force                          bool
	state                          string
	historyMax                     int
	// saved: the values an existing run was started with (not a flag).
	saved map[string]cty.Value
	// lenient: a required variable given no value is unknown, not an
	// error (validate, graph, rbac; not a flag).
	lenient   bool
	resume    string
	format    string
	check     bool
	diff      bool
	recursive bool
	noJournal bool
}

func newFlagSet(name string, o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cutover "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	fs.StringVar(&o.context, "context", "", "kubeconfig context to use")
	fs.StringVar(&o.namespace, "namespace", "", "namespace (overrides the pipeline's and the context's)")
	fs.StringVar(&o.namespace, "n", "", "shorthand for --namespace")
	fs.Var(&o.vars, "var", "set a variable: -var name=value (repeatable)")
	fs.Var(&o.varFiles, "var-file", "read variables from an .hcl file, or a .json one holding an object (repeatable)")
	fs.StringVar(&o.output, "output", "text", "output format: text or json")
	fs.StringVar(&o.output, "o", "text", "shorthand for --output")
	fs.StringVar(&o.junit, "junit", "", "write a JUnit XML report to this file")
	fs.StringVar(&o.summary, "summary", "", "write a markdown report to this file")
	fs.Var(&o.dryRun, "dry-run", "server: every write is a server-side dry run")
	fs.DurationVar(&o.grace, "grace", defaults.Grace, "time allowed to undo after SIGINT/SIGTERM")
	fs.Var(&o.waitLock, "wait-lock", "wait up to this long for the pipeline's lock instead of exiting 4 (alone: 10m)")
	fs.BoolVar(&o.force, "force", false, "undo: restore objects changed since the run wrote them, and undo a succeeded run that is not the latest")
	fs.StringVar(&o.state, "state", "secret", "where run state is kept: secret, or configmap (readable by the view role: no secrets in stages)")
	fs.IntVar(&o.historyMax, "history-max", 10, "runs kept per pipeline; older finished ones are deleted (0: keep all)")
	fs.StringVar(&o.resume, "resume", "", "resume the run with this id")
	fs.StringVar(&o.format, "format", "dot", "graph format: dot or mermaid")
	fs.BoolVar(&o.check, "check", false, "fmt: report files that are not formatted, change nothing (exit 5 when some are)")
	fs.BoolVar(&o.diff, "diff", false, "fmt: print each change as a unified diff")
	fs.BoolVar(&o.recursive, "recursive", true, "fmt: format the subdirectories of a directory too (-recursive=false: only its own files)")
	fs.BoolVar(&o.noJournal, "no-journal", false, "do not journal the run in the cluster (no resume, no undo RUN)")
	return fs
}

// parseInterleaved lets flags stand before or after positional arguments,
// as kubectl allows; Go's flag package stops at the first positional one.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag.Parse consumed a "--" terminator if the remainder follows it.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parse reads a command's flags and positional arguments; false means exit 2
// (the flag package has said why).
func (c *cli) parse(name string, args []string) (*options, []string, bool) {
	o := &options{}
	pos, err := parseInterleaved(newFlagSet(name, o, c.stderr), args)
	if err != nil {
		return o, pos, false
	}
	return o, pos, c.checkOptions(o)
}

// parsePath is parse for the commands that take one PATH (default ".").
func (c *cli) parsePath(name string, args []string) (*options, string, bool) {
	o, pos, ok := c.parse(name, args)
	if !ok {
		return nil, "", false
	}
	path, ok := c.pathArg(pos)
	return o, path, ok
}

// checkOptions refuses, before anything runs, flag values that would only
// fail later: an output format nobody renders, a report file that cannot be
// written (found out after the release, the run's report would be lost).
func (c *cli) checkOptions(o *options) bool {
	if o.output != "text" && o.output != "json" {
		c.errorf("--output is text or json, not %q", o.output)
		return false
	}
	for _, f := range []struct{ flag, path string }{{"--junit", o.junit}, {"--summary", o.summary}} {
		if f.path == "" {
			continue
		}
		_, statErr := os.Stat(f.path)
		fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			c.errorf("%s %s: cannot write the report there: %v", f.flag, f.path, err)
			return false
		}
		fh.Close()
		if os.IsNotExist(statErr) {
			os.Remove(f.path) // only the check created it
		}
	}
	return true
}
