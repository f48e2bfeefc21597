package main

import (
	"fmt"
	"slices"
	"strings"
)

// Exit codes (docs/design.md, "Exit codes"). Each code has one meaning
// whatever the command, so a CI script can branch on it without knowing
// which command ran: the checks (fmt --check, lint) have a code of their
// own instead of reusing "a stage failed".
const (
	exitOK          = 0
	exitFailed      = 1
	exitInvalid     = 2
	exitIncomplete  = 3
	exitLockHeld    = 4
	exitFindings    = 5   // fmt --check: files not formatted; lint: an error finding
	exitUnfinished  = 6   // join: a target's share has not finished
	exitInterrupted = 130 // SIGINT
	exitTerminated  = 143 // SIGTERM
)

// exitCode is one row of the table the help text, the reference docs and
// the README's table are rendered from.
type exitCode struct {
	code    int
	meaning string
	// commands that can exit with it; nil: every command.
	commands []string
	// notes say what the code means for one command in particular; a
	// command's help shows its own note only (`run -h` says nothing of
	// fmt), the full table every note.
	notes []note
}

type note struct{ command, text string }

var exitCodes = []exitCode{
	{exitOK, "success", nil, []note{
		{"fmt", "every file formatted (`--check`)"}, {"lint", "no error finding (warnings alone exit 0)"}}},
	{exitFailed, "failed, nothing left changed: a stage failed and everything was undone, or the cluster could not be reached or refused a request", []string{"run", "plan", "undo", "status", "history", "approve", "abort", "join"}, []note{
		{"plan", "with `--dry-run=server`, a stage's request the cluster refused: the plan is printed whole, the refused stages named at the end"}}},
	{exitInvalid, "invalid input (HCL, variables, flags, files, a kubeconfig, context or namespace that is not there); nothing ran", nil, []note{
		{"run", "also `--resume` of a run that ended, or `--run-id` of one that exists already (a retried job: `--resume RUN` or `undo RUN`)"},
		{"lint", "a file cannot be read, or a chart or overlay does not render (each named at its place; the others are linted and their findings printed)"}}},
	{exitIncomplete, "failed, and the undo is incomplete: the output says what is left (objects someone changed since the run wrote them are left as is and named), or the run lost its lock and stopped without undoing, or its undo lost the lock and stopped (what it had not undone is named)", []string{"run", "undo"}, nil},
	{exitLockHeld, "the pipeline's lock is held by another run (named; also one that ended while this run watched it: nothing was changed), or `undo`/`--resume` of a run whose process is still alive", []string{"run", "undo"}, nil},
	{exitFindings, "a check found problems", []string{"fmt", "lint"}, []note{
		{"fmt", "a file is not formatted (`--check`), each named (`--diff` shows the change)"},
		{"lint", "an error finding"}}},
	{exitUnfinished, "not finished: a target's share of the run is still running, or its job died while running (each named, with what to do); no target failed beyond its wave's `max_failures` so far", []string{"join"}, nil},
	{exitInterrupted, "interrupted by SIGINT; what the run changed was undone within `--grace`", []string{"run"}, nil},
	{exitTerminated, "interrupted by SIGTERM; what the run changed was undone within `--grace`", []string{"run"}, nil},
}

// exitCodesOf are the rows that apply to command name.
func exitCodesOf(name string) []exitCode {
	var out []exitCode
	for _, e := range exitCodes {
		if name == "" || e.commands == nil || slices.Contains(e.commands, name) {
			out = append(out, e)
		}
	}
	return out
}

// meaningFor is what code e means for command name: its meaning, then the
// command's note ("success: every file formatted"); for "" (the whole
// table), every note after the command it concerns ("success. fmt: …;
// lint: …").
func (e exitCode) meaningFor(name string) string {
	var notes []string
	for _, n := range e.notes {
		switch name {
		case "":
			notes = append(notes, "`"+n.command+"`: "+n.text)
		case n.command:
			return e.meaning + ": " + n.text
		}
	}
	if len(notes) == 0 {
		return e.meaning
	}
	return e.meaning + ". " + strings.Join(notes, "; ")
}

// exitCodesText is the help's "Exit codes" section for a command; for ""
// (cutover --help) every code, with the commands it concerns.
func exitCodesText(name string) string {
	var b strings.Builder
	for _, e := range exitCodesOf(name) {
		line := strings.ReplaceAll(e.meaningFor(name), "`", "")
		if name == "" && e.commands != nil {
			line += " [" + strings.Join(e.commands, ", ") + "]"
		}
		fmt.Fprintf(&b, "  %-4d %s\n", e.code, wrap(line, 7))
	}
	return b.String()
}

// exitCodesMarkdown is the table in README.md and docs/reference/cli.md.
func exitCodesMarkdown() string {
	var b strings.Builder
	b.WriteString("| exit | meaning | commands |\n|---|---|---|\n")
	for _, e := range exitCodes {
		cmds := "all"
		if e.commands != nil {
			cmds = "`" + strings.Join(e.commands, "`, `") + "`"
		}
		fmt.Fprintf(&b, "| %d | %s | %s |\n", e.code, e.meaningFor(""), cmds)
	}
	return b.String()
}
