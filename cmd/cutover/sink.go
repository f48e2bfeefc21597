package main

import (
	"sync"
	"time"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/notify"
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
	c.reported = true
	if err := report.Close(s); err != nil {
		c.errorf("writing reports: %v", err)
	}
}

// runSink is the sink of a run or an undo in namespace ns: the renderers, and the
// pipeline's notify blocks when it has some. The returned func ends both:
// the reports are flushed, then the notifications still being delivered
// are waited for, each within its timeout (docs/notifications.md).
func (c *cli) runSink(o *options, p *engine.Program, ns string, cl *kube.Cluster) (events.Sink, func()) {
	sink := c.sink(o, p.Secrets())
	if len(p.Notify) == 0 {
		return sink, func() { c.closeSink(sink) }
	}
	// A notification that could not be delivered is a warning on stderr
	// when it happens (not in text mode, whose report prints it after the
	// result: one line for a human), and a warning of the run's report (JSON events, the
	// summary, JUnit, CI annotations) once the deliveries are over: whoever
	// reads only the report learns that people were not told. The text
	// names the block and the failure, never the URL, and is redacted.
	var mu sync.Mutex
	var undelivered []string
	no := notify.Options{
		Namespace: ns, Secrets: p.Secrets(),
		Warn: func(msg string) {
			if o.output != "text" {
				c.errorf("warning: %s", msg)
			}
			mu.Lock()
			undelivered = append(undelivered, msg)
			mu.Unlock()
		},
	}
	if provider, url, ok := report.CIJob(c.getenv); ok {
		no.CI = &notify.CI{Provider: provider, URL: url}
	}
	if c.hasKubeconfig(o) {
		if cs, err := cl.Clients(); err == nil {
			no.Cluster, no.Context = callout.Redact(cs.Config.Host), cs.Context
		}
	}
	n := notify.New(p.Notify, no)
	return events.Multi{sink, n}, func() {
		n.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, msg := range undelivered {
			sink.Emit(events.Event{Type: events.DiagnosticEvent, Time: time.Now(), Diagnostic: &events.Diagnostic{
				Severity: "warning", Summary: "Notification not delivered", Detail: msg}})
		}
		c.closeSink(sink)
	}
}
