// Package local holds the step kinds that need no cluster: exec runs a local
// command, http sends one request. Each kind lives in a file of its own and
// registers itself with steps.Default in init, so importing the package for
// its side effects is enough for the engine to know them.
//
// Neither kind has a built-in undo: what a command or a webhook did cannot be
// known, so a stage that needs compensation says it with an undo block.
package local
