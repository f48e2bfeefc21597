package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps/pause"
)

// Answering a pause stage of a run with targets: each target's share
// waits in its own cluster, so the answer goes to the one --target names
// (docs/design.md, "Targets and waves").

// pipelineArg splits a trailing pipeline PATH off approve's arguments: a
// last argument (after RUN) that names a directory or an .hcl file.
// Stage names are identifiers, which a path of the pipeline rarely is.
func pipelineArg(pos []string) ([]string, string) {
	if len(pos) < 2 {
		return pos, ""
	}
	last := pos[len(pos)-1]
	if fi, err := os.Stat(last); err == nil && (fi.IsDir() || strings.HasSuffix(last, ".hcl")) {
		return pos[:len(pos)-1], last
	}
	return pos, ""
}

// pauseTarget resolves where run runID's question is: the target --target
// names in the pipeline at path (default: the current directory), else
// the only target whose cluster has a question waiting; with the pipeline
// (nil without targets), for the commands its messages suggest. Several waiting,
// or none named that the pipeline has, is exit 2, naming them.
func (c *cli) pauseTarget(runID, path, answer string, o *options) (*options, *engine.Program, int) {
	if path == "" {
		if m, _ := filepath.Glob("*.hcl"); len(m) == 0 {
			c.errorf("--target %s: give the run's pipeline: cutover %s %s [STAGE] --target %s PATH (the current directory holds no .hcl files)", o.target, answer, runID, o.target)
			return nil, nil, exitInvalid
		}
		path = "."
	}
	p, ok := c.load(path, withLenient(o))
	if !ok {
		return nil, nil, exitInvalid
	}
	t, ok := c.checkTarget(p, o)
	switch {
	case !ok:
		return nil, nil, exitInvalid
	case len(p.Targets) == 0:
		return o, nil, exitOK // one cluster: as without PATH
	case t != nil:
		to := targetOptions(t, o)
		if !c.checkTargetKubeconfig(t, to) {
			return nil, nil, exitInvalid
		}
		return to, p, exitOK
	}
	if !c.checkTargetKubeconfigs(p, o) {
		return nil, nil, exitInvalid
	}
	var waiting, cmds []string
	var only *options
	for i := range p.Targets {
		t := &p.Targets[i]
		to := targetOptions(t, o)
		clients, err := c.cluster(to).Clients()
		if err == nil {
			err = clients.Reachable(context.Background())
		}
		if err != nil {
			c.errorf("target %s: %v", t.Name, err)
			continue
		}
		ns := kube.NamespaceOf(clients, to.namespace, p.Namespace)
		var stages []string
		for _, w := range waitingFor(clients, ns, runID) {
			stages = append(stages, w.Stage)
			cmds = append(cmds, answerCommand(p, answer, runID, w.Stage, t.Name, ns))
		}
		if len(stages) > 0 {
			waiting = append(waiting, fmt.Sprintf("%s (%s)", t.Name, strings.Join(stages, ", ")))
			only = to
			if only.namespace == "" {
				only.namespace = ns
			}
		}
	}
	switch len(waiting) {
	case 0:
		c.errorf("run %s has no pause stage waiting on any target of pipeline %q; nothing was written", runID, p.Name)
		return nil, nil, exitInvalid
	case 1:
		return only, p, exitOK
	}
	c.errorf("run %s has pause stages waiting on targets %s: name one: %s",
		runID, strings.Join(waiting, ", "), strings.Join(cmds, ", or "))
	return nil, nil, exitInvalid
}

// answeredBefore says, for a question no longer there, how its stage was
// answered as the run's journal recorded it: "; stage promote was
// approved already by X at T". stage (0 or 1 name) narrows it.
func (c *cli) answeredBefore(clients *kube.Clients, ns, runID string, stage []string, o *options) string {
	j, err := runStore(clients, ns, o).Open(context.Background(), runID)
	if err != nil {
		return ""
	}
	entries, err := j.Entries(context.Background())
	if err != nil {
		return ""
	}
	var out []string
	for _, e := range entries {
		if e.Kind != journal.KindStage || e.Status != "succeeded" || len(e.Data) == 0 || len(stage) > 0 && !slices.Contains(stage, e.Stage) {
			continue
		}
		// The output as journaled: cty's JSON with its type.
		var got struct {
			Value struct {
				Answer string `json:"answer"`
				By     string `json:"answered_by"`
			} `json:"value"`
		}
		if json.Unmarshal(e.Data, &got) != nil || got.Value.Answer != pause.Approve {
			continue
		}
		out = append(out, fmt.Sprintf("stage %s was approved already by %s at %s", e.Stage, got.Value.By, e.Time.UTC().Format(time.RFC3339)))
	}
	// A stage started and not ended may not have asked yet, or have been
	// answered (its end is written with the next durable write: docs/
	// design.md, "Run state"): notAsked says so for a running run.
	if len(out) > 0 {
		return ": " + strings.Join(out, "; ")
	}
	return ""
}
