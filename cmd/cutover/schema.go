package main

import (
	"github.com/cutoverhq/cutover/internal/reference"
	"github.com/cutoverhq/cutover/steps"
)

// cmdSchema prints the JSON schema of a pipeline file, built from the
// decoder's schemas and this binary's step kinds and providers.
func cmdSchema(c *cli, args []string) int {
	if _, _, ok := c.parse("schema", args); !ok {
		return exitInvalid
	}
	out, err := reference.Schema(steps.Default)
	if err != nil {
		c.errorf("%v", err)
		return exitInvalid
	}
	_, _ = c.stdout.Write(out)
	return exitOK
}
