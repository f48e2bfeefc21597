package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/journal"
)

// loadForRun loads the pipeline of an existing run (--resume, undo):
// the variables it was started with come from its journal, and those given
// now override them; sensitive ones were never stored and must be given.
func (c *cli) loadForRun(path, runID string, o *options) (*engine.Program, journal.Journal, []journal.Entry, int) {
	cfg, diags := config.Load(path, nil)
	if diags.HasErrors() {
		c.printDiags(cfg, diags, o)
		return nil, nil, nil, exitInvalid
	}
	ns := o.namespace
	if ns == "" {
		// The pipeline's namespace, when it does not depend on variables.
		if p, d := engine.Prepare(cfg, engine.Inputs{Vars: o.vars, VarFiles: o.varFiles, Env: c.environ}); !d.HasErrors() {
			ns = p.Namespace
		}
	}
	clients, err := c.cluster(o).Clients()
	if err != nil {
		c.errorf("%v", err)
		return nil, nil, nil, exitFailed
	}
	if ns == "" {
		ns = clients.Namespace
	}
	j, err := journal.NewConfigMapStore(clients, ns).Open(context.Background(), runID)
	if err != nil {
		c.errorf("run %s in namespace %s: %v", runID, ns, err)
		return nil, nil, nil, exitInvalid
	}
	var saved []string
	for k, v := range j.Meta().Vars {
		saved = append(saved, k+"="+v)
	}
	sort.Strings(saved)
	o.vars = append(saved, o.vars...)
	p, ok := c.load(path, o)
	if !ok {
		return nil, nil, nil, exitInvalid
	}
	c.applyNamespace(p, o)
	entries, err := j.Entries(context.Background())
	if err != nil {
		c.errorf("reading the journal of run %s: %v", runID, err)
		return nil, nil, nil, exitFailed
	}
	return p, j, entries, exitOK
}

func cmdUndo(c *cli, args []string) int {
	o, pos, ok := c.parse("undo", args)
	if !ok {
		return exitInvalid
	}
	if len(pos) == 0 || len(pos) > 2 {
		c.errorf("usage: cutover undo RUN [PATH]")
		return exitInvalid
	}
	path := "."
	if len(pos) == 2 {
		path = pos[1]
	}
	p, j, entries, code := c.loadForRun(path, pos[0], o)
	if p == nil {
		return code
	}
	sink := c.sink(o, p.Secrets())
	out, err := p.Undo(context.Background(), engine.Options{
		RunID: pos[0], Cluster: c.cluster(o), Sink: sink, Journal: j, Holder: c.holder(),
	}, entries)
	c.closeSink(sink)
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	if out.Result == "failed, undo incomplete" {
		return exitIncomplete
	}
	return exitOK
}

func cmdHistory(c *cli, args []string) int {
	o, _, ok := c.parse("history", args)
	if !ok {
		return exitInvalid
	}
	metas, code := c.listRuns(o)
	if metas == nil && code != exitOK {
		return code
	}
	c.printRuns(metas)
	return exitOK
}

func cmdStatus(c *cli, args []string) int {
	o, pos, ok := c.parse("status", args)
	if !ok {
		return exitInvalid
	}
	metas, code := c.listRuns(o)
	if code != exitOK {
		return code
	}
	if len(pos) == 0 {
		// Runs in progress, and the latest run of every pipeline.
		seen := map[string]bool{}
		var show []journal.Meta
		for _, m := range metas {
			if m.Status == "running" || !seen[m.Pipeline] {
				show = append(show, m)
			}
			seen[m.Pipeline] = true
		}
		c.printRuns(show)
		return exitOK
	}
	clients, err := c.cluster(o).Clients()
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	for _, m := range metas {
		if m.RunID != pos[0] {
			continue
		}
		j, err := journal.NewConfigMapStore(clients, m.Namespace).Open(context.Background(), m.RunID)
		if err != nil {
			c.errorf("%v", err)
			return exitFailed
		}
		entries, err := j.Entries(context.Background())
		if err != nil {
			c.errorf("%v", err)
			return exitFailed
		}
		fmt.Fprintf(c.stdout, "run %s of pipeline %q: %s (started %s by %s)\n", m.RunID, m.Pipeline, m.Status, m.Started.Format(time.RFC3339), m.Holder)
		tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
		for _, e := range entries {
			if e.Kind == journal.KindRecord {
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Time.Format("15:04:05"), orDash(e.Stage), e.Kind+" "+e.Status, e.Message)
		}
		tw.Flush()
		return exitOK
	}
	c.errorf("no run %s", pos[0])
	return exitInvalid
}

func (c *cli) listRuns(o *options) ([]journal.Meta, int) {
	clients, err := c.cluster(o).Clients()
	if err != nil {
		c.errorf("%v", err)
		return nil, exitFailed
	}
	ns := o.namespace
	if ns == "" {
		ns = clients.Namespace
	}
	metas, err := journal.NewConfigMapStore(clients, ns).List(context.Background())
	if err != nil {
		c.errorf("listing runs in %s: %v", ns, err)
		return nil, exitFailed
	}
	return metas, exitOK
}

func (c *cli) printRuns(metas []journal.Meta) {
	if len(metas) == 0 {
		fmt.Fprintln(c.stdout, "no runs")
		return
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tPIPELINE\tSTATUS\tSTARTED\tBY")
	for _, m := range metas {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.RunID, m.Pipeline, m.Status, m.Started.Format(time.RFC3339), m.Holder)
	}
	tw.Flush()
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
