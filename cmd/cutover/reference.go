package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// cliReference is docs/reference/cli.md: every command's help, rendered
// from the same tree `cutover help` prints, so the two cannot disagree.
func cliReference() string {
	root := (&cli{}).newRoot()
	var b strings.Builder
	b.WriteString("# Command line reference\n\n")
	b.WriteString("<!-- Generated from cmd/cutover (commands.go, flags.go, exitcodes.go) by `go generate ./cmd/cutover`; do not edit. -->\n\n")
	b.WriteString("Flags take one dash or two (`-var` or `--var`), with `=` or a space before the value, and may\n" +
		"stand before or after the arguments, or before the command (`cutover -n shop status`).\n" +
		"`cutover help COMMAND` prints the same text.\n\n")
	b.WriteString("## Exit codes\n\nEach code has one meaning whatever the command.\n\n" + exitCodesMarkdown())
	for _, cmd := range root.Commands() {
		if !isOurs(cmd) {
			continue
		}
		fmt.Fprintf(&b, "\n## cutover %s\n\n", cmd.Name())
		b.WriteString(strings.Join(strings.Fields(description(cmd)), " ") + "\n\n")
		fmt.Fprintf(&b, "```\n%s [flags]\n```\n", cmd.UseLine())
		if cmd.Example != "" {
			b.WriteString("\nExamples:\n\n```sh\n")
			for _, l := range strings.Split(strings.TrimRight(cmd.Example, "\n"), "\n") {
				b.WriteString(strings.TrimSpace(l) + "\n")
			}
			b.WriteString("```\n")
		}
		b.WriteString("\nFlags:\n\n```\n" + flagUsages(cmd.Flags()) + "```\n")
		codes := []string{}
		for _, e := range exitCodesOf(cmd.Name()) {
			codes = append(codes, fmt.Sprint(e.code))
		}
		fmt.Fprintf(&b, "\nExit codes: %s.\n", strings.Join(codes, ", "))
	}
	b.WriteString("\n## cutover completion\n\n" + completionNote(root) + "\n")
	return b.String()
}

func completionNote(root *cobra.Command) string {
	var shells []string
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			for _, s := range c.Commands() {
				shells = append(shells, s.Name())
			}
		}
	}
	return "`cutover completion " + strings.Join(shells, "|") + "` prints the completion script for that shell; README.md says how to install it."
}
