package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/steps"
	_ "github.com/cutoverhq/cutover/steps/all"
)

// generatedExec is a pipeline of n exec stages in a fan-out tree, each
// using a variable and its parent's output, with a timeout and a retry:
// what `cutover validate` reads for a large generated pipeline.
func generatedExec(n int) string {
	var b strings.Builder
	b.WriteString("pipeline \"big\" { parallelism = 8 }\nvariable \"version\" { default = \"v1\" }\n")
	for i := range n {
		fmt.Fprintf(&b, "stage \"s%d\" {\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "  exec { command = [\"echo\", \"${var.version}\", stage.s%d.output.stdout] }\n", (i-1)/2)
		} else {
			b.WriteString("  exec { command = [\"echo\", var.version] }\n")
		}
		b.WriteString("  timeout = \"1m\"\n  retry {\n    attempts = 2\n  }\n}\n")
	}
	return b.String()
}

// minimalExec is n one-line exec stages: the most stages a pipeline file
// under config.MaxFileSize holds (76,774 of them fit).
func minimalExec(n int) string {
	var b strings.Builder
	b.WriteString("pipeline \"big\" {}\n")
	for i := range n {
		fmt.Fprintf(&b, "stage \"s%d\" {\n  exec { command = [\"true\"] }\n}\n", i)
	}
	return b.String()
}

// benchValidate is `cutover validate`: load (parse, decode, references,
// cycles) and prepare (variables, settings, every step block checked),
// with the kinds cutover ships.
func benchValidate(b *testing.B, src string, stages int) {
	if len(src) > config.MaxFileSize {
		b.Fatalf("the generated pipeline is %d bytes, over the %d bytes a file may hold", len(src), config.MaxFileSize)
	}
	dir := b.TempDir()
	writeFile(b, dir, "big.hcl", src)
	b.ReportAllocs()
	for b.Loop() {
		p := prepareDir(b, dir, steps.Default)
		if len(p.Order) != stages {
			b.Fatalf("%d stages; want %d", len(p.Order), stages)
		}
	}
}

func BenchmarkValidate10k(b *testing.B) { benchValidate(b, generatedExec(10000), 10000) }

func BenchmarkValidate76k(b *testing.B) { benchValidate(b, minimalExec(76774), 76774) }
