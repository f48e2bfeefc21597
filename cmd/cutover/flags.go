package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/defaults"
)

// options are the values of every flag; a command registers the flags it
// takes (command.flags) and reads those.
type options struct {
	kubeconfig, context, namespace string
	vars, varFiles                 listFlag
	output                         string
	junit, summary                 string
	dryRun                         dryRunFlag
	grace                          durationFlag
	waitLock                       waitFlag
	force                          bool
	showManifests                  bool
	state                          string
	historyMax                     intFlag
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
	// targets (docs/design.md, "Targets and waves")
	target, runID, wave, ci string
	// rbac
	roleName string
	// init
	template string
	list     bool
}

// newOptions are the defaults, also for the flags a command does not take.
func newOptions() *options {
	return &options{output: "text", grace: durationFlag(defaults.Grace), state: "secret", historyMax: 10, format: "dot", recursive: true}
}

// flagDefs is every flag, by name; commands pick theirs. The usage text
// puts the value's name in backquotes (pflag's convention) for the help.
var flagDefs = map[string]func(fs *pflag.FlagSet, o *options){
	"kubeconfig": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.kubeconfig, "kubeconfig", "", "the kubeconfig `FILE` (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	},
	"context": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.context, "context", "", "the kubeconfig context `NAME` to use")
	},
	"namespace": func(fs *pflag.FlagSet, o *options) {
		fs.StringVarP(&o.namespace, "namespace", "n", "", "the `NAMESPACE` to act in (overrides the pipeline's and the context's)")
	},
	"var": func(fs *pflag.FlagSet, o *options) {
		fs.Var(&o.vars, "var", "set a variable: `NAME=VALUE` (repeatable; lists, maps and objects in HCL syntax)")
	},
	"var-file": func(fs *pflag.FlagSet, o *options) {
		fs.Var(&o.varFiles, "var-file", "read variables from an .hcl `FILE`, or a .json one holding an object (repeatable)")
	},
	"output": func(fs *pflag.FlagSet, o *options) {
		fs.StringVarP(&o.output, "output", "o", "text", "`text|json`: json writes one JSON document or event per line")
	},
	"junit": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.junit, "junit", "", "write a JUnit XML report to `FILE` (one testcase per stage)")
	},
	"summary": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.summary, "summary", "", "write a markdown report to `FILE`")
	},
	"dry-run": func(fs *pflag.FlagSet, o *options) {
		fs.Var(&o.dryRun, "dry-run", "`server|none`: none (the default) is a real run; server (alone: --dry-run) rehearses it, nothing changes: every write a server-side dry run, each stage reading what the earlier stages' dry runs leave, checks that need the release (gates, waits, pauses) skipped as not rehearsed")
		fs.Lookup("dry-run").NoOptDefVal = "server"
	},
	"show-manifests": func(fs *pflag.FlagSet, o *options) {
		fs.BoolVar(&o.showManifests, "show-manifests", false, "print the YAML documents each deploy would apply (manifests interpolated, charts rendered, overlays built); a sensitive manifest shows as (sensitive), a Secret's data values as (hidden)")
	},
	"grace": func(fs *pflag.FlagSet, o *options) {
		fs.Var(&o.grace, "grace", "the `DURATION` allowed to undo after SIGINT/SIGTERM, with its unit (90s, 2m)")
	},
	"wait-lock": func(fs *pflag.FlagSet, o *options) {
		fs.Var(&o.waitLock, "wait-lock", "wait up to `DURATION` for the pipeline's lock instead of exiting 4 (alone: 10m)")
		fs.Lookup("wait-lock").NoOptDefVal = defaultWaitLock.String()
	},
	"force": func(fs *pflag.FlagSet, o *options) {
		fs.BoolVar(&o.force, "force", false, "restore objects changed since the run wrote them, and undo a succeeded run that is not the latest")
	},
	"state": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.state, "state", "secret", "keep run state in a `secret|configmap` (a ConfigMap is readable by the view role: no secrets in stages)")
	},
	"history-max": func(fs *pflag.FlagSet, o *options) {
		fs.Var(&o.historyMax, "history-max", "keep the last `N` runs per pipeline, delete older finished ones (0: keep all)")
	},
	"resume": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.resume, "resume", "", "finish the run `RUN` whose job died (undone if a stage fails)")
	},
	"format": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.format, "format", "dot", "`dot|mermaid`")
	},
	"check": func(fs *pflag.FlagSet, o *options) {
		fs.BoolVar(&o.check, "check", false, "report files that are not formatted (exit 5), change nothing")
	},
	"recursive-lint": func(fs *pflag.FlagSet, o *options) {
		fs.BoolVar(&o.recursive, "recursive", true, "lint the subdirectories of a directory too (--recursive=false: only its own files)")
	},
	"diff": func(fs *pflag.FlagSet, o *options) {
		fs.BoolVar(&o.diff, "diff", false, "print each change as a unified diff instead of the file's name; the file is still rewritten unless --check")
	},
	"recursive": func(fs *pflag.FlagSet, o *options) {
		fs.BoolVar(&o.recursive, "recursive", true, "format the subdirectories of a directory too (--recursive=false: only its own files)")
	},
	"template": func(fs *pflag.FlagSet, o *options) {
		fs.StringVarP(&o.template, "template", "t", defaultTemplate, "start from the ready pipeline `NAME` (init --list shows them)")
	},
	"list": func(fs *pflag.FlagSet, o *options) {
		fs.BoolVar(&o.list, "list", false, "list the ready pipelines, with what each does")
	},
	"force-init": func(fs *pflag.FlagSet, o *options) {
		fs.BoolVar(&o.force, "force", false, "overwrite files that exist (an edited one is copied to FILE.orig first), and remove an earlier init's unchanged files this pipeline does not have")
	},
	"role-name": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.roleName, "name", "", "the Role's `NAME` (default: cutover-PIPELINE)")
	},
	"rbac-state": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.state, "state", "secret", "where the runs keep their state: `secret|configmap|none` (none: runs with --no-journal and lock = false)")
	},
	"target": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.target, "target", "", "act on the target `NAME` of a pipeline with targets only (its cluster, journal and lock)")
	},
	"run-id": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.runID, "run-id", "", "the run's id `RUN` (default: a new one): every CI job of one fleet release gives the same")
	},
	"ci": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.ci, "ci", "github", "`github|gitlab`: a strategy.matrix JSON document or a parallel:matrix YAML fragment")
	},
	"wave": func(fs *pflag.FlagSet, o *options) {
		fs.StringVar(&o.wave, "wave", "", "the wave `NAME` (default: every wave)")
	},
	"no-journal": func(fs *pflag.FlagSet, o *options) {
		fs.BoolVar(&o.noJournal, "no-journal", false, "do not journal the run in the cluster (no resume, no undo RUN; the lock is still taken)")
	},
}

// The flags the commands that load a pipeline, reach a cluster or write
// reports share.
var (
	varFlags     = []string{"var", "var-file"}
	clusterFlags = []string{"kubeconfig", "context", "namespace"}
	reportFlags  = []string{"output", "junit", "summary"}
)

func flagsOf(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// listFlag collects a repeatable flag (-var a=1 -var b=2) without
// splitting on commas: a value may hold them (-var 'l=["a","b"]').
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
func (l *listFlag) Type() string       { return "list" }

// dryRunFlag is --dry-run (meaning server) or --dry-run=server|none.
type dryRunFlag string

func (d *dryRunFlag) String() string { return string(*d) }
func (d *dryRunFlag) Type() string   { return "mode" }
func (d *dryRunFlag) Set(v string) error {
	switch v {
	case "true", "server":
		*d = "server"
	case "false", "none", "":
		*d = ""
	default:
		return fmt.Errorf("it is server or none (--dry-run alone means server)")
	}
	return nil
}

// durationFlag is a duration that says what it wants when given a bare
// number: "--grace 10" is seconds to some and minutes to others.
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }
func (d *durationFlag) Type() string   { return "duration" }
func (d *durationFlag) Set(v string) error {
	p, err := parseDuration(v)
	if err != nil {
		return err
	}
	*d = durationFlag(p)
	return nil
}

func parseDuration(v string) (time.Duration, error) {
	if abs, neg := strings.CutPrefix(v, "-"); neg && looksLikeDuration(abs) {
		// -5s or -5: a duration, but one no wait can take.
		return 0, fmt.Errorf("a duration is 0 or more, not %s", v)
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return 0, fmt.Errorf("a duration needs its unit: %ss for seconds, %sm for minutes (units: ms, s, m, h)", v, v)
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("not a duration: write it with its unit, as 90s, 2m or 1m30s")
	}
	return d, nil
}

// looksLikeDuration says whether v is a duration, or a number missing its
// unit.
func looksLikeDuration(v string) bool {
	_, errNum := strconv.ParseFloat(v, 64)
	_, errDur := time.ParseDuration(v)
	return errNum == nil || errDur == nil
}

// waitFlag is --wait-lock (10 minutes) or --wait-lock=DURATION: how long to
// wait for a lock someone else holds. Unbounded waiting would let a stuck
// CI job hang every later release until the job's own timeout.
type waitFlag time.Duration

const defaultWaitLock = defaults.WaitLock

func (w *waitFlag) String() string { return time.Duration(*w).String() }
func (w *waitFlag) Type() string   { return "duration" }
func (w *waitFlag) Set(v string) error {
	switch v {
	case "true", "":
		*w = waitFlag(defaultWaitLock)
	case "false":
		*w = 0
	default:
		d, err := parseDuration(v)
		if err != nil {
			return err
		}
		*w = waitFlag(d)
	}
	return nil
}

// intFlag is a count that says what it wants, not strconv's "invalid syntax".
type intFlag int

func (n *intFlag) String() string { return strconv.Itoa(int(*n)) }
func (n *intFlag) Type() string   { return "int" }
func (n *intFlag) Set(v string) error {
	i, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("a whole number, such as 10")
	}
	*n = intFlag(i)
	return nil
}

// parse returns the options cobra parsed for the running command, once
// they pass checkOptions; false means exit 2 (it has said why).
func (c *cli) parse(_ string, args []string) (*options, []string, bool) {
	return c.opts, args, c.checkOptions(c.opts)
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
// written (found out after the release, the run's report would be lost), a
// kubeconfig that does not parse.
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
	return c.checkKubeconfig(o)
}
