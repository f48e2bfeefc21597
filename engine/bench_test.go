package engine

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/steps"
)

func itoa(i int) string { return strconv.Itoa(i) }

func writeFile(tb testing.TB, dir, name, src string) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func prepareDir(tb testing.TB, dir string, reg *steps.Registry) *Program {
	tb.Helper()
	return prepareDirParsed(tb, dir, reg, func() {})
}

// prepareDirParsed is prepareDir calling parsed between load and prepare.
func prepareDirParsed(tb testing.TB, dir string, reg *steps.Registry, parsed func()) *Program {
	tb.Helper()
	cfg, diags := config.Load(dir, reg)
	parsed()
	if diags.HasErrors() {
		tb.Fatal(dump(diags))
	}
	p, diags := Prepare(cfg, Inputs{})
	if diags.HasErrors() {
		tb.Fatal(dump(diags))
	}
	return p
}

// generated1000 is a pipeline of 1,000 stages in a fan-out tree, each with
// a step that uses a variable and an earlier stage's output.
func generated1000() string {
	var b strings.Builder
	b.WriteString("pipeline \"big\" { parallelism = 8 }\nvariable \"version\" { default = \"v1\" }\n")
	for i := 0; i < 1000; i++ {
		b.WriteString("stage \"s" + itoa(i) + "\" {\n")
		if i > 0 {
			b.WriteString("  step { value = \"${var.version}-${stage.s" + itoa(i/2) + ".output.value}\" }\n")
		} else {
			b.WriteString("  step { value = var.version }\n")
		}
		b.WriteString("  timeout = \"1m\"\n  retry {\n    attempts = 2\n  }\n}\n")
	}
	return b.String()
}

// BenchmarkValidate1000 is `cutover validate` of a 1,000-stage pipeline:
// parse, decode, references, graph, cycles, variables and step checks.
func BenchmarkValidate1000(b *testing.B) {
	dir := b.TempDir()
	writeFile(b, dir, "big.hcl", generated1000())
	reg := testRegistry(newLog())
	b.ReportAllocs()
	for b.Loop() {
		prepareDir(b, dir, reg)
	}
}

// BenchmarkPlan1000 adds the plan's evaluation and rendering of every stage.
func BenchmarkPlan1000(b *testing.B) {
	dir := b.TempDir()
	writeFile(b, dir, "big.hcl", generated1000())
	reg := testRegistry(newLog())
	b.ReportAllocs()
	for b.Loop() {
		p := prepareDir(b, dir, reg)
		if got := len(p.Plan(b.Context(), Options{})); got != 1000 {
			b.Fatalf("%d stages planned", got)
		}
	}
}
