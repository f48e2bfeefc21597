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
	b.WriteString("}\n")
	return b.String()
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
	return b.String()
}
