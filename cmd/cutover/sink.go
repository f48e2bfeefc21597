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
