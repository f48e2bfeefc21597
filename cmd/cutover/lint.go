package main

import (
	"encoding/json"
	"fmt"

	"github.com/cutoverhq/cutover/steps/lint"
)

// cmdLint lints manifests: files, the .yaml/.yml/.json files of directories
// (subdirectories too, as fmt), and "-" for stdin (helm template … | cutover
// lint -). It exits exitFindings when a finding is an error, 0 with only
// warnings, 2 when a file cannot be read.
func cmdLint(c *cli, args []string) int {
	o, pos, ok := c.parse("lint", args)
	if !ok {
		return exitInvalid
	}
	if len(pos) == 0 {
		c.errorf("usage: cutover lint MANIFEST|DIR|-…")
		return exitInvalid
	}
	var paths []string
	for _, p := range pos {
		if p == "-" {
			paths = append(paths, p)
			continue
		}
		found, code := filesIn(c, []string{p}, o.recursive, ".yaml", ".yml", ".json")
		if code != exitOK {
			return code
		}
		if len(found) == 0 {
			c.errorf("%s: no .yaml, .yml or .json files in it", p)
			return exitInvalid
		}
		paths = append(paths, found...)
	}
	srcs, err := lint.Read(paths, c.stdin)
	if err != nil {
		c.errorf("%v", err)
		return exitInvalid
	}
	findings := lint.Lint(srcs, lint.Options{})
	if o.output == "json" {
		_ = json.NewEncoder(c.stdout).Encode(findings)
	} else {
		_ = lint.Format(c.stdout, findings)
		fmt.Fprintln(c.stdout, lint.Summary(findings))
	}
	if errs, _ := lint.Count(findings); errs > 0 {
		return exitFindings
	}
	return exitOK
}
