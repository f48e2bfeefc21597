package releasebench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipeline100 is a chain of 100 stages, exec and wait alternating, each
// reading its predecessor's output: the engine holds every stage's state
// and evaluation context at once by the end, which is what the memory
// target is about. No cluster is involved.
func pipeline100() string {
	var b strings.Builder
	b.WriteString("pipeline \"rss100\" {}\n")
	for i := range 100 {
		fmt.Fprintf(&b, "\nstage \"s%03d\" {\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "  depends_on = [stage.s%03d]\n", i-1)
		}
		if i%2 == 0 {
			fmt.Fprintf(&b, "  exec { command = [\"true\", \"s%03d\"] }\n", i)
		} else {
			b.WriteString("  wait { duration = \"1ms\" }\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// BenchmarkRunRSS100 reports the peak RSS of `cutover run` of a 100-stage
// pipeline. docs/design.md ("Targets"): < 64 MiB.
//
// The figure is the child's rusage, taken by a small wrapper process rather
// than by the benchmark: on Linux a child's ru_maxrss starts from the RSS of
// the process it was forked from (exec keeps the old address space's peak),
// so a child of this test binary, itself some 75 MiB, would never report
// less than that.
func BenchmarkRunRSS100(b *testing.B) {
	bin, err := cutoverBinary()
	if err != nil {
		b.Fatal(err)
	}
	wrap, err := rssWrapper()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pipeline.hcl"), []byte(pipeline100()), 0o600); err != nil {
		b.Fatal(err)
	}
	var peak, sum float64
	b.ResetTimer()
	for range b.N {
		out, mib := measureRSS(b, wrap, bin, "run", "-o", "json", dir)
		// The run must really have run all 100 stages, or the figure is
		// of something smaller.
		if n := strings.Count(out, `"type":"stage_succeeded"`); n != 100 {
			b.Fatalf("cutover run: %d stages succeeded, want 100\n%s", n, out)
		}
		if !strings.Contains(out, `"result":"succeeded"`) {
			b.Fatalf("cutover run did not succeed:\n%s", out)
		}
		sum += mib
		peak = max(peak, mib)
	}
	// What the binary takes before running anything, to tell the cost of
	// the run from the cost of starting (package initialisation, the
	// binary's own pages).
	_, base := measureRSS(b, wrap, bin, "version")
	b.ReportMetric(base, "version-RSS-MiB")
	b.ReportMetric(peak, "peak-RSS-MiB")
	b.ReportMetric(sum/float64(b.N), "mean-RSS-MiB")
}

// measureRSS runs bin ARGS under the wrapper with no cluster configured
// (HOME empty, KUBECONFIG unset: the journal stays in memory) and returns
// its output and peak RSS in MiB.
func measureRSS(b *testing.B, wrap, bin string, args ...string) (string, float64) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, wrap, append([]string{bin}, args...)...)
	cmd.Env = []string{"HOME=" + b.TempDir(), "PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		b.Fatalf("cutover %v: %v\n%s%s", args, err, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	var kib int64
	if _, err := fmt.Sscanf(lines[len(lines)-1], "maxrss-kib %d", &kib); err != nil || kib <= 0 {
		b.Fatalf("rss wrapper: no maxrss line in %q", errOut.String())
	}
	return out.String(), float64(kib) / 1024
}

// rssWrapperSrc runs its arguments as a command and prints the command's
// peak RSS (KiB, from wait4's rusage) as the last line of stderr. Only the
// standard library: a few MiB of its own, far below what it measures.
const rssWrapperSrc = `package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "\nmaxrss-kib %d\n", cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	os.Exit(cmd.ProcessState.ExitCode())
}
`

var (
	wrapOnce sync.Once
	wrapPath string
	wrapErr  error
)

// rssWrapper builds rssWrapperSrc next to the cutover binary.
func rssWrapper() (string, error) {
	wrapOnce.Do(func() {
		if _, wrapErr = cutoverBinary(); wrapErr != nil {
			return
		}
		src := filepath.Join(binDir, "rsswrap.go")
		if wrapErr = os.WriteFile(src, []byte(rssWrapperSrc), 0o600); wrapErr != nil {
			return
		}
		wrapPath = filepath.Join(binDir, "rsswrap")
		cmd := exec.Command("go", "build", "-o", wrapPath, src)
		cmd.Dir = binDir
		cmd.Env = append(os.Environ(), "GO111MODULE=off", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			wrapErr = fmt.Errorf("build rss wrapper: %v\n%s", err, out)
		}
	})
	return wrapPath, wrapErr
}
