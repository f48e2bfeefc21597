package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/cutoverhq/cutover/engine"
)

// The CI's own matrix as the fan-out of a release across clusters
// (docs/ci.md, "One release, many clusters"): `matrix` prints a wave's
// targets for GitHub Actions' strategy.matrix or GitLab's
// parallel:matrix, each job runs `run --target NAME --run-id RUN`, and
// `join RUN` (join.go) gates the next wave on the targets' journals.

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
