package main

import (
	"fmt"
	"strings"

	"github.com/cutoverhq/cutover/internal/words"
)

func cmdValidate(c *cli, args []string) int {
	o, path, ok := c.parsePath("validate", args)
	if !ok {
		return exitInvalid
	}
	// As terraform validate: a required variable without a value is
	// checked as unknown, so a pipeline validates without its inputs.
	o.lenient = true
	p, cfg, diags := c.prepare(path, o)
	if len(diags) > 0 {
		c.printDiags(cfg, diags, o)
	}
	if o.output == "json" {
		// The last line is the verdict, valid or not: a consumer reading
		// it needs no exit code nor a scan of the diagnostics before it.
		c.printJSON(validated(p, cfg, diags))
	}
	if diags.HasErrors() {
		return exitInvalid
	}
	if o.output != "json" {
		fleet := ""
		if len(p.Targets) > 0 {
			fleet = fmt.Sprintf(", %s in %s", words.Count(len(p.Targets), "target"), words.Count(len(p.Waves), "wave"))
		}
		fmt.Fprintf(c.stdout, "pipeline %q is valid: %s, %s%s.\n", p.Name, words.Count(len(p.Order), "stage"), words.Count(len(p.Vars), "variable"), fleet)
		if len(p.Missing) > 0 {
			fmt.Fprintf(c.stdout, "Checked without a value (required for plan and run): %s.\n", strings.Join(p.Missing, ", "))
		}
	}
	return exitOK
}
