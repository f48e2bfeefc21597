package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/lock"
	"github.com/cutoverhq/cutover/report"
)

// `join RUN PATH` gates the next wave of a release fanned out on the CI's
// matrix (docs/ci.md, "One release, many clusters"): it reads each
// target's journal in its own cluster and judges the waves so far; when
// they succeeded it prints the pipeline's outputs, evaluated from the
// targets' stages, as the run of every target prints them at its end.

// joinView is join's -o json document (docs/events.md, "join").
type joinView struct {
	Run     string          `json:"run"`
	Targets []joinTarget    `json:"targets"`
	Outputs json.RawMessage `json:"outputs,omitempty"`
	Note    string          `json:"note,omitempty"`
}

// joinTarget is one row: a target, its wave and its share's status.
type joinTarget struct {
	Target string `json:"target"`
	Wave   string `json:"wave"`
	Status string `json:"status"`
}

func cmdJoin(c *cli, args []string) int {
	o, pos, ok := c.parse("join", args)
	if !ok || !c.checkStateFlags(o) {
		return exitInvalid
	}
	if len(pos) != 2 {
		c.errorf("usage: cutover join RUN PATH")
		return exitInvalid
	}
	runID, path := pos[0], pos[1]
	p, waves, ok := c.loadWaves(path, o, true)
	if !ok || !c.checkTargetKubeconfigs(p, o) {
		return exitInvalid
	}
	ctx := context.Background()
	view := joinView{Run: runID, Targets: []joinTarget{}}
	var over, notes, looked, unread, running []string
	// succeeded: the journals of the shares that succeeded, which the
	// outputs are evaluated from.
	succeeded := map[string][]journal.Entry{}
	// failing: a share found that neither succeeded nor was undone; live:
	// one found not undone.
	anywhere, failing, live := false, false, false
	for _, w := range waves {
		var failed []string
		maxf, from := w.MaxFailures, ""
		for _, name := range w.Targets {
			t, _ := p.TargetNamed(name)
			sh := c.shareStatus(ctx, p, t, runID, o)
			anywhere = anywhere || sh.err == nil
			status := sh.status
			switch {
			case errors.Is(sh.err, journal.ErrNotFound):
				failed = append(failed, name+" ("+status+")")
			case sh.err != nil:
				unread = append(unread, name)
				failed = append(failed, name+" ("+status+")")
			case sh.meta.Status == journal.StatusRunning:
				// Neither failed nor succeeded: not counted, named.
				live = true
				running = append(running, c.unfinished(p, name, runID, sh, o))
			default:
				if !strings.HasSuffix(status, string(events.Undone)) {
					live = true
					failing = failing || status != string(events.Succeeded)
				}
				if status != string(events.Succeeded) {
					failed = append(failed, name+" ("+status+")")
				} else if entries, err := sh.journal.Entries(ctx); err == nil {
					succeeded[name] = entries
				} else {
					notes = append(notes, fmt.Sprintf("target %s: its journal's entries could not be read (%v): the outputs leave it out", name, err))
				}
			}
			looked = append(looked, fmt.Sprintf("target %s: %s", name, sh.where))
			view.Targets = append(view.Targets, joinTarget{name, w.Name, status})
			// The release's max_failures, as its shares journaled it.
			if sh.err == nil && sh.meta.Wave != nil && from == "" {
				maxf, from = sh.meta.Wave.MaxFailures, name
			}
		}
		if from != "" && maxf != w.MaxFailures {
			notes = append(notes, fmt.Sprintf("wave %s: max_failures %d, as the run's journal (target %s) says; this join's variables give %d", w.Name, maxf, from, w.MaxFailures))
		}
		if len(failed) > maxf {
			over = append(over, fmt.Sprintf("wave %s: %s (max_failures %d)", w.Name, strings.Join(failed, ", "), maxf))
		}
	}
	if !anywhere {
		// A run id no cluster knows: a typo, or the first jobs never ran.
		// Nothing to undo; say where it was looked for.
		c.errorf("run %s was not found: no target's cluster has its journal (%s)", runID, strings.Join(looked, "; "))
		return exitInvalid
	}
	passed := len(over) == 0 && len(running) == 0
	if passed {
		view.Outputs, view.Note = p.JoinedOutputs(succeeded)
	}
	c.printJoin(view, o)
	if passed {
		// On GitHub Actions, the outputs are the step's as a run's are
		// (docs/ci.md): the next job reads them from the join.
		if err := report.GitHubOutputs(c.getenv, view.Outputs); err != nil {
			c.errorf("writing reports: %v", err)
		}
	}
	for _, n := range notes {
		fmt.Fprintf(c.stderr, "cutover: note: %s\n", n)
	}
	if len(over) > 0 {
		// Undo is advised only for a share that is there to put back:
		// never for targets that succeeded, are undone already, or whose
		// cluster could not be read (their share may have succeeded).
		advice := fmt.Sprintf("`%s` puts every target back", p.Command("undo", []string{runID}, "", o.namespace))
		switch {
		case len(running) > 0:
			advice += " once the shares still running ended"
		case len(unread) > 0 && !failing:
			advice = fmt.Sprintf("target %s could not be read; join again once it can be", strings.Join(unread, ", "))
		case !live:
			advice = "it was undone already, nothing is left to put back"
		}
		c.errorf("run %s did not succeed: %s; %s", runID, strings.Join(over, "; "), advice)
		return exitFailed
	}
	if len(running) > 0 {
		// Not a verdict: the next wave waits, nothing is to be undone
		// yet (docs/ci.md, "One release, many clusters").
		c.errorf("run %s has not finished: %s", runID, strings.Join(running, "; "))
		return exitUnfinished
	}
	return exitOK
}

// printJoin writes join's rows and, when the waves passed, the outputs:
// a table then "Outputs:" as a run's summary ends, or one JSON document.
func (c *cli) printJoin(v joinView, o *options) {
	if o.output == "json" {
		_ = json.NewEncoder(c.stdout).Encode(v)
		return
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tWAVE\tSTATUS")
	for _, t := range v.Targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Target, t.Wave, t.Status)
	}
	tw.Flush()
	if outs := report.OutputLines(v.Outputs); len(outs) > 0 {
		fmt.Fprintln(c.stdout, "Outputs:")
		for _, l := range outs {
			fmt.Fprintln(c.stdout, "  "+l)
		}
	}
	if v.Note != "" {
		fmt.Fprintln(c.stdout, "Note: "+v.Note)
	}
}

// unfinished says what is known of a share still "running": alive (join
// again once its job ended), or abandoned by its job (resume or undo it,
// where join found it).
func (c *cli) unfinished(p *engine.Program, name, runID string, sh shareRead, o *options) string {
	state, detail, lapsed := judgeLock(sh.locker, *sh.meta, time.Now())
	if strings.HasPrefix(state, "abandoned") {
		return fmt.Sprintf("target %s's job died while running (%s: %s): `%s` finishes it, `%s` puts it back",
			name, state, detail, p.Command("run", []string{"--resume", runID}, name, o.namespace), p.Command("undo", []string{runID}, name, o.namespace))
	}
	if lapsed {
		// Past its lease, the job may be dead or cut off: not said to run.
		return fmt.Sprintf("target %s may have stopped: %s; join again then, or once its job ended", name, detail)
	}
	return fmt.Sprintf("target %s is still running (%s); join again once its job ended", name, detail)
}

// shareRead is a target's share of the run as join reads it: status is
// its journal's, or "no journal (its job did not run)", or where it was
// looked for and why it could not be read. err is journal.ErrNotFound for
// a target the release never reached, another error for a cluster not
// read; journal, meta and locker are there when err is nil.
type shareRead struct {
	status, where string
	err           error
	journal       journal.Journal
	meta          *journal.Meta
	locker        *lock.LeaseLocker
}

func (c *cli) shareStatus(ctx context.Context, p *engine.Program, t *engine.Target, runID string, o *options) shareRead {
	j, locker, where, err := c.targetJournal(ctx, p, t, runID, o)
	switch {
	case errors.Is(err, journal.ErrNotFound):
		return shareRead{status: "no journal (its job did not run)", where: where, err: err}
	case err != nil:
		return shareRead{status: where, where: where, err: err}
	}
	m := j.Meta()
	return shareRead{status: m.Status, where: where, journal: j, meta: &m, locker: locker}
}
