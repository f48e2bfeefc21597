package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/kube"
)

// notAsked says why a running run, found in namespace ns by its journal, has
// no question to answer yet: the namespace is right, so the answer is what
// its journal knows of the stages. A pause stage is journaled "started"
// before it asks (it first waits for any drain_delay of a stage that moved
// traffic), and one answered stays "started" until its end is written; one
// look cannot tell the two apart, status a moment later can. "" when there
// is no running journal to read (the caller says what it can without one).
func (c *cli) notAsked(clients *kube.Clients, ns, runID string, stage []string, answer string, fleet *engine.Program, o *options) string {
	j, err := runStore(clients, ns, o).Open(context.Background(), runID)
	if err != nil || j.Meta().Status != journal.StatusRunning {
		return ""
	}
	entries, err := j.Entries(context.Background())
	if err != nil {
		return ""
	}
	last := map[string]string{} // each stage's last status, in journal order
	var names []string
	for _, e := range entries {
		if e.Kind != journal.KindStage || e.Stage == "" {
			continue
		}
		if _, seen := last[e.Stage]; !seen {
			names = append(names, e.Stage)
		}
		last[e.Stage] = e.Status
	}
	var running []string
	for _, n := range names {
		if last[n] == "started" {
			running = append(running, n)
		}
	}
	status := fmt.Sprintf("cutover status %s -n %s", runID, ns)
	if fleet != nil {
		status = fleet.Command("status", []string{runID}, o.target, ns)
	}
	pending := func(s string) string {
		return fmt.Sprintf("stage %s is running and has not asked: a pause asks once it waits (after any drain_delay before it, a few seconds), or it was answered already and goes on; run this again in a few seconds, or see %s", s, status)
	}
	switch {
	case len(stage) == 1 && last[stage[0]] == "started":
		return fmt.Sprintf("run %s has no pause stage waiting in namespace %s: %s", runID, ns, pending(stage[0]))
	case len(stage) == 1 && last[stage[0]] != "":
		return fmt.Sprintf("run %s's stage %s is not waiting: it %s (%s)", runID, stage[0], last[stage[0]], status)
	case len(stage) == 1:
		msg := fmt.Sprintf("run %s has no pause stage %q", runID, stage[0])
		if s := config.Suggest(stage[0], names); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
			if last[s] == "started" {
				return msg + ": " + pending(s)
			}
			return fmt.Sprintf("%s: %s %s", msg, s, last[s])
		}
		if len(running) == 0 {
			return fmt.Sprintf("%s waiting, and no stage is running (%s)", msg, status)
		}
		return fmt.Sprintf("%s waiting; running now: %s (%s)", msg, strings.Join(running, ", "), status)
	case len(running) > 0:
		return fmt.Sprintf("run %s has no pause stage waiting in namespace %s yet; running now: %s: a pause asks once it waits (after any drain_delay before it, a few seconds): cutover %s %s again then, or see %s",
			runID, ns, strings.Join(running, ", "), answer, runID, status)
	}
	return fmt.Sprintf("run %s has no pause stage waiting in namespace %s, and no stage running (%s)", runID, ns, status)
}
