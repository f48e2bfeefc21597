package engine

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/internal/gcpace"
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
//
// The target (docs/design.md, "Targets") is what a user waits for and the
// memory the process needs at its peak, so besides ns/op (wall time) each
// op reports cpu-ms/op (user and system time of every thread, the GC's
// included: what the op costs on a loaded machine, where wall time is
// mostly waiting for a processor) and peak-RSS-MiB, the most resident
// memory the process had during any op, measured by the kernel from a
// fresh start (the heap given back and the high-water mark reset before
// each op). Bytes allocated over the op (B/op) are not the target: most
// die young.
func benchValidate(b *testing.B, src string, stages int) {
	if len(src) > config.MaxFileSize {
		b.Fatalf("the generated pipeline is %d bytes, over the %d bytes a file may hold", len(src), config.MaxFileSize)
	}
	dir := b.TempDir()
	writeFile(b, dir, "big.hcl", src)
	b.ReportAllocs()
	var cpu time.Duration
	var peak int64
	for b.Loop() {
		b.StopTimer()
		hwm := resetPeakRSS()
		start := cpuTime()
		b.StartTimer()
		p := loadPaced(b, dir)
		b.StopTimer()
		cpu += cpuTime() - start
		if hwm {
			peak = max(peak, peakRSS(b))
		}
		if len(p.Order) != stages {
			b.Fatalf("%d stages; want %d", len(p.Order), stages)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	if peak > 0 {
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	}
}

// loadPaced is prepareDir paced as `cutover validate` paces its load
// (cmd/cutover's load, internal/gcpace).
func loadPaced(b *testing.B, dir string) *Program {
	pace := gcpace.Start(config.List(dir).Size())
	defer pace.Done()
	return prepareDirParsed(b, dir, steps.Default, pace.Parsed)
}

// resetPeakRSS gives the freed heap back to the system and resets the
// kernel's high-water mark of resident memory to what is resident now;
// false where that mark cannot be reset (not Linux).
func resetPeakRSS() bool {
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS is the process's resident high-water mark (VmHWM) in bytes.
func peakRSS(b *testing.B) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// cpuTime is the user and system time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkValidate10k(b *testing.B) { benchValidate(b, generatedExec(10000), 10000) }

func BenchmarkValidate76k(b *testing.B) { benchValidate(b, minimalExec(76774), 76774) }
