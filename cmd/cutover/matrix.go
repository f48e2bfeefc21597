package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/lock"
)

// The CI's own matrix as the fan-out of a release across clusters
// (docs/ci.md, "One release, many clusters"): `matrix` prints a wave's
// targets for GitHub Actions' strategy.matrix or GitLab's
// parallel:matrix, each job runs `run --target NAME --run-id RUN`, and
// `join RUN` gates the next wave on the targets' journals.

func cmdMatrix(c *cli, args []string) int {
	o, path, ok := c.parsePath("matrix", args)
	if !ok {
		return exitInvalid
	}
	p, waves, ok := c.loadWaves(path, o, false)
	if !ok {
		return exitInvalid
	}
	if len(waves) > 1 {
		// One matrix per wave: the next wave's jobs wait for join.
		var names []string
		for _, w := range waves {
			names = append(names, w.Name)
		}
		c.errorf("pipeline %q has %d waves (%s): give --wave NAME; each wave is its own matrix job, gated by `cutover join RUN PATH --wave NAME` on the one before", p.Name, len(waves), strings.Join(names, ", "))
		return exitInvalid
	}
	w := waves[0]
	switch o.ci {
	case "github":
		// A strategy: the matrix, and how many of its jobs run at once
		// (the wave's parallelism), for strategy.max-parallel.
		b, _ := json.Marshal(struct {
			Matrix      map[string][]string `json:"matrix"`
			MaxParallel int                 `json:"max-parallel"`
		}{map[string][]string{"target": w.Targets}, w.Parallelism})
		fmt.Fprintln(c.stdout, string(b))
	case "gitlab":
		quoted := make([]string, len(w.Targets))
		for i, t := range w.Targets {
			quoted[i] = fmt.Sprintf("%q", t)
		}
		fmt.Fprintf(c.stdout, "parallel:\n  matrix:\n    - TARGET: [%s]\n", strings.Join(quoted, ", "))
		if w.Parallelism < len(w.Targets) {
			// GitLab has no bound on a parallel:matrix job's concurrency.
			fmt.Fprintf(c.stderr, "cutover: note: wave %s has parallelism %d, and GitLab starts the %d jobs of a parallel:matrix at once (it has no max-parallel): to release fewer at a time, split the wave's targets over jobs of successive stages\n", w.Name, w.Parallelism, len(w.Targets))
		}
	default:
		c.errorf("--ci is github or gitlab, not %q", o.ci)
		return exitInvalid
	}
	return exitOK
}

// loadWaves loads a pipeline with targets for matrix and join, and the
// waves --wave selects (see wavesUpTo). Only the names of targets and
// waves are needed: variables a run will be given may be missing.
func (c *cli) loadWaves(path string, o *options, upTo bool) (*engine.Program, []engine.Wave, bool) {
	p, ok := c.load(path, withLenient(o))
	if !ok {
		return nil, nil, false
	}
	if len(p.Targets) == 0 {
		c.errorf("pipeline %q declares no target blocks: it releases to one cluster, without waves", p.Name)
		return nil, nil, false
	}
	waves, ok := c.wavesUpTo(p, o, upTo)
	return p, waves, ok
}

// wavesUpTo is the wave --wave names (upTo: it and every wave before it),
// or every wave.
func (c *cli) wavesUpTo(p *engine.Program, o *options, upTo bool) ([]engine.Wave, bool) {
	if o.wave == "" {
		return p.Waves, true
	}
	var names []string
	for i, w := range p.Waves {
		if w.Name == o.wave {
			if upTo {
				return p.Waves[:i+1], true
			}
			return p.Waves[i : i+1], true
		}
		names = append(names, w.Name)
	}
	c.errorf("--wave %s: pipeline %q has no such wave; its waves are %s", o.wave, p.Name, strings.Join(names, ", "))
	return nil, false
}

// runIDPattern is what a run id given with --run-id may be: it names
// Secrets and is a label value (at most 63 characters).
var runIDPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,46}[a-z0-9])?$`)

func (c *cli) checkRunID(o *options) bool {
	if o.runID == "" || runIDPattern.MatchString(o.runID) {
		return true
	}
	c.errorf("--run-id %q: a run id is 1 to 48 lowercase letters, digits and dashes, starting and ending with a letter or digit (it names the run's Secrets and labels)", o.runID)
	return false
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
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tWAVE\tSTATUS")
	var over, notes, looked, unread, running []string
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
				running = append(running, c.unfinished(name, runID, path, sh))
			default:
				if !strings.HasSuffix(status, string(events.Undone)) {
					live = true
					failing = failing || status != string(events.Succeeded)
				}
				if status != string(events.Succeeded) {
					failed = append(failed, name+" ("+status+")")
				}
			}
			looked = append(looked, fmt.Sprintf("target %s: %s", name, sh.where))
			fmt.Fprintf(tw, "%s\t%s\t%s\n", name, w.Name, status)
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
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintf(c.stderr, "cutover: note: %s\n", n)
	}
	if len(over) > 0 {
		// Undo is advised only for a share that is there to put back:
		// never for targets that succeeded, are undone already, or whose
		// cluster could not be read (their share may have succeeded).
		advice := fmt.Sprintf("`cutover undo %s %s` puts every target back", runID, path)
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

// unfinished says what is known of a share still "running": alive (join
// again once its job ended), or abandoned by its job (resume or undo it).
func (c *cli) unfinished(name, runID, path string, sh shareRead) string {
	state, detail := liveness(sh.locker, *sh.meta, time.Now())
	if strings.HasPrefix(state, "abandoned") {
		return fmt.Sprintf("target %s's job died while running (%s: %s): `cutover run %s --target %s --resume %s` finishes it, `cutover undo %s %s --target %s` puts it back",
			name, state, detail, path, name, runID, runID, path, name)
	}
	return fmt.Sprintf("target %s is still running (%s); join again once its job ended", name, detail)
}

// shareRead is a target's share of the run as join reads it: status is
// its journal's, or "no journal (its job did not run)", or where it was
// looked for and why it could not be read. err is journal.ErrNotFound for
// a target the release never reached, another error for a cluster not
// read; meta and locker are there when err is nil.
type shareRead struct {
	status, where string
	err           error
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
	return shareRead{status: m.Status, where: where, meta: &m, locker: locker}
}
