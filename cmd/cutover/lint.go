package main

import (
	"encoding/json"
	"fmt"

	"github.com/cutoverhq/cutover/steps/lint"
)

// cmdLint exits 1 when a finding is an error, 0 with only warnings, 2 when a
// file cannot be read.
func cmdLint(c *cli, args []string) int {
	o, pos, ok := c.parse("lint", args)
	if !ok {
		return exitInvalid
	}
	if len(pos) == 0 {
		c.errorf("usage: cutover lint MANIFEST…")
		return exitInvalid
	}
	findings, err := lint.Files(pos)
	if err != nil {
		c.errorf("%v", err)
		return exitInvalid
	}
	if o.output == "json" {
		_ = json.NewEncoder(c.stdout).Encode(findings)
	} else {
		_ = lint.Format(c.stdout, findings)
		fmt.Fprintln(c.stdout, lint.Summary(findings))
	}
	if errs, _ := lint.Count(findings); errs > 0 {
		return exitFailed
	}
	return exitOK
}
