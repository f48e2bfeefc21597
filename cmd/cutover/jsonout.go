package main

import (
	"encoding/json"

	"github.com/hashicorp/hcl/v2"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/engine/config"
)

// The -o json documents of the commands whose text output is data
// (status and history have theirs in runs.go; plan, lint, version and
// init --list beside their text).

// printJSON writes v as one line of JSON.
func (c *cli) printJSON(v any) { _ = json.NewEncoder(c.stdout).Encode(v) }

// validated is validate's document, its last line (after the diagnostic
// events): valid or not, with the count of errors and warnings found; the
// pipeline's counts when it is valid. pipeline is "" when the pipeline
// block did not parse.
func validated(p *engine.Program, cfg *config.Config, diags hcl.Diagnostics) map[string]any {
	errs, warns := countDiags(diags)
	doc := map[string]any{"valid": errs == 0, "errors": errs, "warnings": warns, "pipeline": ""}
	if cfg != nil && cfg.Pipeline != nil {
		doc["pipeline"] = cfg.Pipeline.Name
	}
	if errs > 0 || p == nil {
		return doc
	}
	missing := p.Missing
	if missing == nil {
		missing = []string{}
	}
	doc["pipeline"] = p.Name
	doc["stages"], doc["variables"], doc["missing"] = len(p.Order), len(p.Vars), missing
	doc["targets"], doc["waves"] = len(p.Targets), len(p.Waves)
	return doc
}

type graphStage struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	DependsOn []string `json:"depends_on"`
}

// graphJSON is graph -o json: the stages in order with what each waits for.
func graphJSON(p *engine.Program) map[string]any {
	stages := []graphStage{}
	for _, n := range p.Order {
		deps := append([]string{}, p.Stages[n].Deps...)
		stages = append(stages, graphStage{Name: n, Kind: p.Stages[n].Kind.Name(), DependsOn: deps})
	}
	doc := map[string]any{"pipeline": p.Name, "stages": stages}
	if len(p.Waves) > 0 {
		doc["waves"] = wavesJSON(p)
	}
	return doc
}

type graphWave struct {
	Name        string   `json:"name"`
	Targets     []string `json:"targets"`
	Parallelism int      `json:"parallelism"`
	MaxFailures int      `json:"max_failures"`
}

// wavesJSON are the waves in the order they run (graph and validate -o
// json).
func wavesJSON(p *engine.Program) []graphWave {
	out := []graphWave{}
	for _, w := range p.Waves {
		out = append(out, graphWave{Name: w.Name, Targets: w.Targets, Parallelism: w.Parallelism, MaxFailures: w.MaxFailures})
	}
	return out
}

// answered is approve/abort -o json.
func answered(namespace, question, stage, answer string) map[string]any {
	return map[string]any{"namespace": namespace, "question": question, "stage": stage, "answer": answer}
}
