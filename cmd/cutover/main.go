// Command cutover runs declarative release pipelines against Kubernetes.
package main

//go:generate go test -run TestReference -update .

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	_ "github.com/cutoverhq/cutover/steps/all"
)

// cli carries the process's streams and environment, so tests and
// testscript drive the same code as the binary.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        []string
	// opts are the flags of the command that runs; code its exit code.
	opts *options
	code int
	// lastError is the last message errorf printed; reported says the
	// command's reports (step outputs, dotenv, summary) were written.
	// Together they report a run that stopped before it started
	// (reportNotStarted).
	lastError string
	reported  bool
}

func main() {
	// client-go logs through klog on its own (discovery failures, client
	// throttling); cutover reports what matters itself, once and readably.
	// CUTOVER_KLOG=1 brings them back for a bug report.
	if os.Getenv("CUTOVER_KLOG") == "" {
		klog.SetLogger(logr.Discard())
	}
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, environ: os.Environ()}
	os.Exit(c.main(os.Args[1:]))
}

func (c *cli) main(args []string) int { return c.execute(args) }

func (c *cli) errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.lastError = msg
	fmt.Fprintln(c.stderr, "cutover: "+strings.TrimRight(msg, "\n"))
}
