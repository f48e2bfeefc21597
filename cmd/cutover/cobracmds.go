package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// installCompletion says what each shell's script needs and how to load
// it, for the help of `cutover completion SHELL` (README.md, "Shell
// completion", says the same).
var installCompletion = map[string]struct{ needs, example string }{
	"bash": {"the bash-completion package", "" +
		"  source <(cutover completion bash)                          # this shell only\n" +
		"  cutover completion bash > /etc/bash_completion.d/cutover   # every new shell\n" +
		"  cutover completion bash > $(brew --prefix)/etc/bash_completion.d/cutover   # macOS, Homebrew"},
	"zsh": {"compinit enabled (autoload -U compinit; compinit in ~/.zshrc)", "" +
		"  source <(cutover completion zsh)                  # this shell only\n" +
		"  cutover completion zsh > \"${fpath[1]}/_cutover\"   # every new shell"},
	"fish": {"", "" +
		"  cutover completion fish | source                                     # this shell only\n" +
		"  cutover completion fish > ~/.config/fish/completions/cutover.fish   # every new shell"},
	"powershell": {"", "" +
		"  cutover completion powershell | Out-String | Invoke-Expression   # this shell only\n" +
		"  cutover completion powershell >> $PROFILE                        # every new shell"},
}

// wordCobraCommands words cobra's own help and completion commands as the
// commands table words ours (a lower-case phrase, no full stop; flags
// once in the usage line), so `completion -h` reads like `run -h`.
func wordCobraCommands(root *cobra.Command) {
	for _, cmd := range root.Commands() {
		switch cmd.Name() {
		case "help":
			cmd.Use = "help [COMMAND]"
			cmd.Short = "show a command's help (as cutover COMMAND -h)"
			cmd.Long = "Shows a command's usage, examples, flags and exit codes; without COMMAND, every command."
			cmd.Example = "  cutover help run"
		case "completion":
			cmd.Short = "print the shell completion script (bash, zsh, fish, powershell)"
			cmd.Long = "Prints the script that makes SHELL complete cutover's commands, flags and their values, the\n" +
				"pipeline's variables after -var, the ready pipelines after init --template and, from the\n" +
				"cluster, run ids and the stages a run waits on. cutover completion SHELL -h says how to load it."
			cmd.Example = "  cutover completion bash > /etc/bash_completion.d/cutover"
			for _, sh := range cmd.Commands() {
				in := installCompletion[sh.Name()]
				sh.Short = "print the completion script for " + sh.Name()
				sh.Long = "Prints the completion script for " + sh.Name()
				if in.needs != "" {
					sh.Long += "; it needs " + in.needs
				}
				sh.Long += "."
				sh.Example = in.example
				sh.DisableFlagsInUseLine = true
				wordHelpFlag(sh)
			}
		}
		cmd.DisableFlagsInUseLine = true
		wordHelpFlag(cmd)
	}
}

// wordHelpFlag gives cmd the -h flag every command has, worded the same.
func wordHelpFlag(cmd *cobra.Command) {
	cmd.InitDefaultHelpFlag()
	if f := cmd.Flags().Lookup("help"); f != nil {
		f.Usage = "show this help"
	}
	if f := cmd.Flags().Lookup("no-descriptions"); f != nil {
		f.Usage = strings.TrimSuffix(f.Usage, ".")
	}
}
