package main

import "fmt"

func cmdValidate(c *cli, args []string) int {
	o, path, ok := c.parsePath("validate", args)
	if !ok {
		return exitInvalid
	}
	p, ok := c.load(path, o)
	if !ok {
		return exitInvalid
	}
	if o.output != "json" {
		fmt.Fprintf(c.stdout, "pipeline %q is valid: %d stages, %d variables.\n", p.Name, len(p.Order), len(p.Vars))
	}
	return exitOK
}
