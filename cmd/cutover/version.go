package main

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
)

// Set by a release build (goreleaser: -X main.version=… -X main.commit=…
// -X main.date=…); a build from a checkout (make build, -buildvcs=auto)
// has them from the VCS stamp instead.
var version, commit, date string

// buildInfo is what `cutover version` says of the binary.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Date     string `json:"date,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go,omitempty"`
}

func readBuildInfo() buildInfo {
	v := buildInfo{Version: "(devel)"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		v.Go = bi.GoVersion
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				v.Commit = kv.Value
			case "vcs.time":
				v.Date = kv.Value
			case "vcs.modified":
				v.Modified = kv.Value == "true"
			}
		}
	}
	for _, ld := range []struct{ from, to *string }{{&version, &v.Version}, {&commit, &v.Commit}, {&date, &v.Date}} {
		if *ld.from != "" {
			*ld.to = *ld.from
		}
	}
	return v
}

// versionLine is "VERSION commit REV[+changes] (TIME) GO": the action
// compares the first word with the version it wants.
func versionLine() string {
	v := readBuildInfo()
	s := v.Version
	if rev := v.Commit; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " commit " + rev
		if v.Modified {
			s += "+changes"
		}
		if v.Date != "" {
			s += " (" + v.Date + ")"
		}
	}
	if v.Go != "" {
		s += " " + v.Go
	}
	return s
}

func cmdVersion(c *cli, args []string) int {
	o, _, ok := c.parse("version", args)
	if !ok {
		return exitInvalid
	}
	if o.output == "json" {
		_ = json.NewEncoder(c.stdout).Encode(readBuildInfo())
		return exitOK
	}
	fmt.Fprintf(c.stdout, "cutover %s\n", versionLine())
	return exitOK
}
