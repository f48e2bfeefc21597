package main

import (
	"fmt"
	"runtime/debug"
)

// cmdVersion prints "cutover VERSION", then the commit and its time when
// the binary was built from a checkout (the action compares the second
// word with the version it wants).
func cmdVersion(c *cli, _ []string) int {
	v, extra := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		s := map[string]string{}
		for _, kv := range bi.Settings {
			s[kv.Key] = kv.Value
		}
		if rev := s["vcs.revision"]; rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			extra = " commit " + rev
			if s["vcs.modified"] == "true" {
				extra += "+changes"
			}
			if t := s["vcs.time"]; t != "" {
				extra += " (" + t + ")"
			}
		}
		extra += " " + bi.GoVersion
	}
	fmt.Fprintf(c.stdout, "cutover %s%s\n", v, extra)
	return exitOK
}
