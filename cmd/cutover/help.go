package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// helpText is a command's help: what it does, its usage, examples, its own
// flags (with the values they take) and the exit codes it can end with.
func helpText(cmd *cobra.Command) string {
	var b strings.Builder
	if desc := description(cmd); desc != "" {
		b.WriteString(strings.TrimRight(desc, "\n") + "\n\n")
	}
	b.WriteString("Usage:\n")
	// A command with subcommands (cutover, completion) runs only to say
	// one is missing: its usage is the line below.
	if cmd.Runnable() && cmd.Parent() != nil && !cmd.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "  %s [flags]\n", cmd.UseLine())
	}
	// completion's subcommands are the shells it writes scripts for.
	sub, subs := "COMMAND", "Commands"
	if cmd.Name() == "completion" {
		sub, subs = "SHELL", "Shells"
	}
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "  %s %s [flags]\n", cmd.CommandPath(), sub)
	}
	if cmd.Example != "" {
		b.WriteString("\nExamples:\n" + strings.TrimRight(cmd.Example, "\n") + "\n")
	}
	if cmd.HasAvailableSubCommands() {
		b.WriteString("\n" + subs + ":\n")
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() || s.Name() == "help" {
				fmt.Fprintf(&b, "  %-11s %s\n", s.Name(), s.Short)
			}
		}
	}
	if fs := cmd.Flags(); fs.HasAvailableFlags() {
		b.WriteString("\nFlags:\n" + flagUsages(fs))
	}
	if cmd.Parent() == nil {
		b.WriteString("\nExit codes:\n" + exitCodesText(""))
		b.WriteString("\n'cutover help COMMAND' or 'cutover COMMAND -h' shows a command's flags and exit codes.\n" +
			"Flags take one dash or two (-var or --var) and may stand before or after PATH, or before\n" +
			"the command (cutover -n shop status).\n")
		return b.String()
	}
	if isOurs(cmd) {
		b.WriteString("\nExit codes:\n" + exitCodesText(cmd.Name()))
		b.WriteString("\nFlags take one dash or two (-var or --var) and may stand before or after the arguments,\n" +
			"or before the command.\n")
	}
	return b.String()
}

// description is what a command's help says it does: its long text, or
// its short phrase (as `cutover --help` lists it) written as a sentence.
func description(cmd *cobra.Command) string {
	if cmd.Long != "" || cmd.Short == "" {
		return cmd.Long
	}
	return strings.ToUpper(cmd.Short[:1]) + cmd.Short[1:] + "."
}

// isOurs says whether cmd is one of the commands table's (not cobra's help
// or completion).
func isOurs(cmd *cobra.Command) bool {
	if cmd.Parent() == nil || cmd.Parent().Parent() != nil {
		return false
	}
	for _, def := range commands {
		if def.name == cmd.Name() {
			return true
		}
	}
	return false
}

// flagUsages lists flags with the value each takes, as typed: --var
// NAME=VALUE, --dry-run[=server] (a value is optional), --force (none).
func flagUsages(fs *pflag.FlagSet) string {
	type row struct{ left, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		left := "    "
		if f.Shorthand != "" {
			left = "-" + f.Shorthand + ", "
		}
		left += "--" + f.Name
		value, usage := pflag.UnquoteUsage(f)
		if v := f.Annotations[valueAnnotation]; len(v) == 1 {
			value = v[0]
		}
		switch {
		case f.NoOptDefVal == "true" || value == "":
		case f.NoOptDefVal != "":
			left += "[=" + value + "]"
		default:
			left += " " + value
		}
		if d := f.DefValue; f.NoOptDefVal != "true" && d != "" && d != "0s" && d != "false" && d != "[]" && !(f.Name == "output" && d == "text") {
			usage += " (default " + d + ")"
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, r.left, wrap(r.usage, width+4))
	}
	return b.String()
}

// valueAnnotation names the value a flag takes in the help (--var NAME=VALUE).
const valueAnnotation = "cutover/value"

// helpWidth is the width help text is wrapped to.
const helpWidth = 100

// wrap breaks text into lines that fit helpWidth when it starts at column
// indent; the lines after the first are indented to it.
func wrap(text string, indent int) string {
	room := max(helpWidth-indent, 30)
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(text) {
		if i > 0 && n+1+len(w) > room {
			b.WriteString("\n" + strings.Repeat(" ", indent))
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}
