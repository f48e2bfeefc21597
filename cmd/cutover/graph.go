package main

import (
	"fmt"
	"strings"

	"github.com/cutoverhq/cutover/engine"
)

func cmdGraph(c *cli, args []string) int {
	o, path, ok := c.parsePath("graph", args)
	if !ok {
		return exitInvalid
	}
	o.lenient = true // the graph does not depend on values
	p, ok := c.load(path, o)
	if !ok {
		return exitInvalid
	}
	if o.output == "json" {
		c.printJSON(graphJSON(p))
		return exitOK
	}
	switch o.format {
	case "dot":
		fmt.Fprint(c.stdout, dot(p))
	case "mermaid":
		fmt.Fprint(c.stdout, mermaid(p))
	default:
		c.errorf("--format is dot or mermaid, not %q", o.format)
		return exitInvalid
	}
	return exitOK
}

func dot(p *engine.Program) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", p.Name)
	for _, n := range p.Order {
		// Quoted with escapes: an instance's address holds quotes.
		fmt.Fprintf(&b, "  %q [label=%q];\n", n, n+"\n("+p.Stages[n].Kind.Name()+")")
	}
	for _, n := range p.Order {
		for _, d := range p.Stages[n].Deps {
			fmt.Fprintf(&b, "  %q -> %q;\n", d, n)
		}
	}
	if len(p.Waves) > 0 {
		// The waves, in the order they run, apart from the stages: each
		// target of a wave runs the whole stage graph.
		b.WriteString("  subgraph cluster_waves {\n    label=\"waves: each target runs the stages\";\n")
		for i, w := range p.Waves {
			fmt.Fprintf(&b, "    %q [label=%q, shape=box3d];\n", waveID(i), waveLabel(w, "\n"))
			if i > 0 {
				fmt.Fprintf(&b, "    %q -> %q;\n", waveID(i-1), waveID(i))
			}
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// waveID names wave i's node; stage names are identifiers, so "wave 1"
// (with its space) is no stage's.
func waveID(i int) string { return fmt.Sprintf("wave %d", i+1) }

// waveLabel is a wave's node: its name, targets and bounds, lines joined
// by nl.
func waveLabel(w engine.Wave, nl string) string {
	return "wave " + w.Name + nl + strings.Join(w.Targets, ", ") + nl +
		fmt.Sprintf("%d at a time, max_failures %d", w.Parallelism, w.MaxFailures)
}

// mermaid draws the graph as a mermaid flowchart. Node ids are positional
// (s0, s1…, as the run summary's graph): a stage named after a mermaid
// keyword (end, graph, subgraph, class…) used as an id breaks the chart.
// The name is the label, quoted.
func mermaid(p *engine.Program) string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	id := map[string]string{}
	for i, n := range p.Order {
		id[n] = fmt.Sprintf("s%d", i)
		label := n + "<br/><small>" + p.Stages[n].Kind.Name() + "</small>"
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", id[n], strings.ReplaceAll(label, `"`, "#quot;"))
	}
	for _, n := range p.Order {
		for _, d := range p.Stages[n].Deps {
			fmt.Fprintf(&b, "  %s --> %s\n", id[d], id[n])
		}
	}
	if len(p.Waves) > 0 {
		b.WriteString("  subgraph waves[\"waves: each target runs the stages\"]\n")
		for i, w := range p.Waves {
			label := strings.ReplaceAll(waveLabel(w, "<br/>"), `"`, "#quot;")
			fmt.Fprintf(&b, "    w%d[\"%s\"]\n", i, label)
			if i > 0 {
				fmt.Fprintf(&b, "    w%d --> w%d\n", i-1, i)
			}
		}
		b.WriteString("  end\n")
	}
	return b.String()
}
