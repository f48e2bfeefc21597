package main

import (
	"fmt"
	"runtime/debug"
)

func cmdVersion(c *cli, _ []string) int {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	fmt.Fprintf(c.stdout, "cutover %s\n", v)
	return exitOK
}
