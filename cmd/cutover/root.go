package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cutoverhq/cutover/engine/config"
)

// The command line is built on cobra, kubectl's framework: per-command
// flags and help, shell completion for four shells, and the conventions a
// Kubernetes user already knows (-n, -o, --kubeconfig, --context).
// Terraform's single-dash long flags (-var x=y) are rewritten to two dashes
// before cobra parses (normalizeArgs): pflag alone reads -var as -v -a -r.

// usageError is bad usage found by cobra or pflag (unknown command or
// flag, a flag value that does not parse): exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

func init() {
	// `cutover --help` lists the commands in the life of a release
	// (the commands table's order), not alphabetically.
	cobra.EnableCommandSorting = false
}

// newRoot builds the command tree; the commands write their exit code into
// c.code.
func (c *cli) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "cutover",
		Short: "release applications to Kubernetes with declarative HCL pipelines",
		Long: "cutover runs release pipelines (HCL stages in a DAG: deploy, verify, switch, scale, wait, …)\n" +
			"with retries, analysis gates and automatic undo.",
		Version:               versionLine(),
		SilenceErrors:         true,
		SilenceUsage:          true,
		DisableFlagsInUseLine: true,
		// Bare `cutover` is a usage mistake: help on stderr, exit 2.
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprint(c.stderr, helpText(cmd))
			c.code = exitInvalid
		},
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetVersionTemplate("cutover {{.Version}}\n")
	root.SetHelpFunc(func(cmd *cobra.Command, _ []string) { fmt.Fprint(cmd.OutOrStdout(), helpText(cmd)) })
	root.SetUsageFunc(func(cmd *cobra.Command) error { _, err := fmt.Fprint(cmd.ErrOrStderr(), helpText(cmd)); return err })
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, def := range commands {
		root.AddCommand(c.newCommand(def))
	}
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	wordCobraCommands(root)
	c.strictHelp(root)
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	root.Flags().Lookup("version").Usage = "print the version, its commit and build time"
	root.Flags().Lookup("help").Usage = "show this help"
	return root
}

func (c *cli) newCommand(def command) *cobra.Command {
	o := newOptions()
	cmd := &cobra.Command{
		Use:     strings.TrimSpace(def.name + " " + def.args),
		Short:   def.short,
		Long:    def.long,
		Example: def.example,
		Args:    cobra.ArbitraryArgs, // each body checks its own, precisely
		Run: func(_ *cobra.Command, args []string) {
			c.opts = o
			if def.args == "" && len(args) > 0 {
				// history, schema, version: a word after them is a mistake
				// (a misplaced PATH, a typo), not something to ignore.
				c.errorf("%s takes no arguments, got %q", def.name, args)
				c.code = exitInvalid
				return
			}
			c.code = def.run(c, args)
		},
		DisableFlagsInUseLine: true,
	}
	for _, f := range def.flags {
		add, ok := flagDefs[f]
		if !ok {
			panic("cutover: command " + def.name + " names an unknown flag " + f)
		}
		add(cmd.Flags(), o)
	}
	for name, usage := range def.usage {
		cmd.Flags().Lookup(name).Usage = usage
	}
	// The value's name moves from the usage's backquotes (pflag's
	// convention) to an annotation: completion shows the usage as is.
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if name, usage := pflag.UnquoteUsage(f); usage != f.Usage {
			f.Usage = usage
			_ = cmd.Flags().SetAnnotation(f.Name, valueAnnotation, []string{name})
		}
	})
	cmd.InitDefaultHelpFlag()
	c.addCompletions(cmd, def, o)
	return cmd
}

// execute runs the command line and returns the exit code.
func (c *cli) execute(args []string) int {
	root := c.newRoot()
	root.SetArgs(normalizeArgs(root, args))
	c.code = exitOK
	cmd, err := root.ExecuteC()
	if err == nil {
		return c.code
	}
	// Everything cobra itself refuses is usage: an unknown command or
	// flag, a flag value that does not parse, a wrong number of arguments.
	var ue usageError
	if !errors.As(err, &ue) {
		ue = usageError{err}
	}
	c.errorf("%s%s", asTyped(ue.Error(), args), notHere(root, cmd, ue))
	if cmd != nil {
		fmt.Fprintf(c.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return exitInvalid
}

// asTyped spells the flags in msg (pflag's "flag needs an argument: --var")
// with one dash where the command line did: normalizeArgs added the other.
func asTyped(msg string, args []string) string {
	for _, a := range args {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") || len(name) < 2 || slices.Contains(args, "--"+name) {
			continue
		}
		re := regexp.MustCompile(`(^|[^\w-])--` + regexp.QuoteMeta(name) + `([^\w-]|$)`)
		msg = re.ReplaceAllString(msg, "${1}-"+name+"${2}")
	}
	return msg
}

// normalizeArgs rewrites the long flags written with one dash (-var,
// -kubeconfig=x, -dry-run) to two, using the flags of the command the
// arguments select; shorthands (-n ns, -ojson) are left as they are. An
// argument that is the value of a flag before it is never touched, nor is
// anything after "--". For shell completion (__complete …) the word being
// completed is left as typed.
func normalizeArgs(root *cobra.Command, args []string) []string {
	out := append([]string(nil), args...)
	rest := out
	completing := len(rest) > 0 && (rest[0] == cobra.ShellCompRequestCmd || rest[0] == cobra.ShellCompNoDescRequestCmd)
	if completing {
		if len(rest) < 2 {
			return out
		}
		rest = rest[1 : len(rest)-1]
	}
	hoistFlags(root, rest)
	// The command: the leading words that name subcommands.
	cmd := root
	i := 0
	for ; i < len(rest); i++ {
		a := rest[i]
		if a == "--" || a == "-" {
			break
		}
		if strings.HasPrefix(a, "-") {
			normalizeFlag(cmd, rest, i)
			continue
		}
		sub := findSub(cmd, a)
		if sub == nil {
			break
		}
		cmd = sub
	}
	for ; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || len(a) < 2 {
			continue
		}
		if f := normalizeFlag(cmd, rest, i); f != nil && f.NoOptDefVal == "" && !strings.Contains(rest[i], "=") {
			i++ // its value, whatever it looks like
		}
	}
	// A value being completed after a one-dash flag and "=" (-template=ca)
	// is the flag's value, as with two dashes.
	if completing && strings.Contains(out[len(out)-1], "=") && !strings.HasPrefix(out[len(out)-1], "--") {
		normalizeFlag(cmd, out, len(out)-1)
	}
	return out
}

// hoistFlags moves the flags written before the command after its name, in
// place, as kubectl takes them (`cutover -n shop status`, `cutover -o json
// validate p`): cobra finds the command by skipping flags, but cannot tell
// which take a value (-var x=y validate) without the command's flag set.
// A flag takes a value if it does in the commands that have it (a name
// means the same everywhere). With no command named, nothing moves
// (`cutover --version`, `cutover -h`).
func hoistFlags(root *cobra.Command, args []string) {
	i := 0
	for i < len(args) && len(args[i]) > 1 && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		i++
		if f := anyFlag(root, args[i-1]); f != nil && f.NoOptDefVal == "" && !strings.Contains(args[i-1], "=") && i < len(args) {
			i++ // its value
		}
	}
	if i == 0 {
		return
	}
	cmd, j := root, i
	for ; j < len(args); j++ {
		sub := findSub(cmd, args[j])
		if sub == nil {
			break
		}
		cmd = sub
	}
	if cmd == root {
		return
	}
	flags := slices.Clone(args[:i])
	copy(args, args[i:j])
	copy(args[j-i:], flags)
}

// anyFlag is the flag arg names in any command (nil: none has it). A
// shorthand with its value stuck to it (-ojson) takes no further value, so
// it counts as none.
func anyFlag(root *cobra.Command, arg string) *pflag.Flag {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	if name == "" {
		return nil
	}
	for _, c := range root.Commands() {
		if f := c.Flags().Lookup(name); f != nil {
			return f
		}
		if len(name) == 1 && !strings.HasPrefix(arg, "--") {
			if f := c.Flags().ShorthandLookup(name); f != nil {
				return f
			}
		}
	}
	return nil
}

// flagOwners names the commands that take the flag named (--name or -x).
func flagOwners(root *cobra.Command, name string) []string {
	var out []string
	for _, c := range root.Commands() {
		if c.Flags().Lookup(name) != nil || len(name) == 1 && c.Flags().ShorthandLookup(name) != nil {
			out = append(out, c.Name())
		}
	}
	return out
}

// nearestFlag is " (did you mean --dry-run?)" for a long flag name close to
// one of cmd's, "" when none is.
func nearestFlag(cmd *cobra.Command, name string) string {
	if len(name) < 2 {
		return ""
	}
	var known []string
	add := func(f *pflag.Flag) {
		if !f.Hidden {
			known = append(known, f.Name)
		}
	}
	cmd.Flags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	if s := config.Suggest(name, known); s != "" {
		return fmt.Sprintf(" (did you mean --%s?)", s)
	}
	return ""
}

// normalizeFlag rewrites args[i] to its two-dash form when it is a long
// flag of cmd written with one dash, and returns the flag it names (nil
// when it names none).
func normalizeFlag(cmd *cobra.Command, args []string, i int) *pflag.Flag {
	a := args[i]
	if len(a) < 2 {
		return nil // "-": stdin, an argument
	}
	if strings.HasPrefix(a, "--") {
		name, _, _ := strings.Cut(a[2:], "=")
		return lookupFlag(cmd, name)
	}
	name, _, _ := strings.Cut(a[1:], "=")
	if f := lookupFlag(cmd, name); f != nil && len(name) > 1 || name == "help" || name == "version" && cmd.Parent() == nil {
		args[i] = "-" + a
		return f
	}
	// A shorthand, alone or with its value stuck to it (-n ns, -ojson).
	if f := cmd.Flags().ShorthandLookup(a[1:2]); f != nil {
		if len(a) > 2 {
			return nil // the value is in this argument
		}
		return f
	}
	if f := cmd.InheritedFlags().ShorthandLookup(a[1:2]); f != nil && len(a) == 2 {
		return f
	}
	if len(a) > 2 && a[1] != '-' && (a[1] < '0' || a[1] > '9') {
		// Not a shorthand either: say "unknown flag: --word", not
		// "unknown shorthand flag: 'w' in -word".
		args[i] = "-" + a
	}
	return nil
}

// notHere completes pflag's "unknown flag" when another command takes the
// flag: `validate --kubeconfig x` is a flag in the wrong place, not a typo.
// When none does, it suggests the command's nearest flag, as cobra does for
// a misspelt command.
func notHere(root, cmd *cobra.Command, err error) string {
	msg := err.Error()
	var name string
	if n, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		name = n
	} else if n, ok := strings.CutPrefix(msg, "unknown shorthand flag: '"); ok && len(n) > 0 {
		name = n[:1]
	}
	if name == "" || cmd == nil || cmd == root {
		return ""
	}
	owners := flagOwners(root, name)
	if len(owners) == 0 {
		return nearestFlag(cmd, name)
	}
	return fmt.Sprintf(" (%s takes no such flag; %s do%s)", cmd.Name(), strings.Join(owners, ", "), map[bool]string{true: "es"}[len(owners) == 1])
}

func lookupFlag(cmd *cobra.Command, name string) *pflag.Flag {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f
	}
	return cmd.InheritedFlags().Lookup(name)
}

func findSub(cmd *cobra.Command, name string) *cobra.Command {
	for _, s := range cmd.Commands() {
		if s.Name() == name || s.HasAlias(name) {
			return s
		}
	}
	return nil
}

// strictHelp makes `cutover help NOPE` the usage mistake `cutover NOPE`
// is (exit 2, the command named), where cobra's help prints the global
// help and exits 0; so is a word after the command (`help run extra`),
// which cobra ignores. `cutover completion` takes a shell as `cutover`
// takes a command: none is a usage mistake (help on stderr, exit 2), an
// unknown one too, where cobra prints the help and exits 0.
func (c *cli) strictHelp(root *cobra.Command) {
	if help, _, err := root.Find([]string{"help"}); err == nil && help.Name() == "help" {
		help.Run = nil
		help.RunE = func(_ *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil {
				return usageError{err}
			}
			if len(rest) > 0 {
				return usageError{fmt.Errorf("help shows one command's help: unexpected %q after %q", rest[0], strings.Join(args[:len(args)-len(rest)], " "))}
			}
			return cmd.Help()
		}
	}
	if comp, _, err := root.Find([]string{"completion"}); err == nil && comp.Name() == "completion" {
		comp.Args = cobra.ArbitraryArgs
		comp.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown shell %q for %q (bash, zsh, fish, powershell)", args[0], cmd.CommandPath())}
			}
			fmt.Fprint(c.stderr, helpText(cmd))
			c.code = exitInvalid
			return nil
		}
	}
}
