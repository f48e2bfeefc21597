package main

import (
	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/report"
)

// sink builds the renderers for this environment: text or JSON lines,
// GitHub/GitLab decorations when detected, the live view on a terminal,
// plus the JUnit and markdown files asked for.
func (c *cli) sink(o *options, secrets []string) events.Sink {
	return report.ForEnvironment(c.stdout, c.getenv, report.Options{
		Format:  o.output,
		Secrets: secrets,
		JUnit:   o.junit,
		Summary: o.summary,
	})
}

// closeSink flushes the reports; a JUnit or summary file that could not be
// written is worth a line, not a failed release.
func (c *cli) closeSink(s events.Sink) {
	if err := report.Close(s); err != nil {
		c.errorf("writing reports: %v", err)
	}
}
