// Command demoapp is the demo server of the test cluster's process-backed
// pods (package demoapp documents its endpoints and environment).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cutoverhq/cutover/internal/demoapp"
)

func main() {
	cfg, err := demoapp.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s demoapp %s: %s\n", time.Now().UTC().Format("15:04:05.000"), cfg.Pod, fmt.Sprintf(format, args...))
	}
	signals := []os.Signal{syscall.SIGTERM, os.Interrupt}
	if cfg.IgnoreSIGTERM {
		signal.Ignore(syscall.SIGTERM)
		signals = signals[1:]
		logf("ignoring SIGTERM")
	}
	ctx, stop := signal.NotifyContext(context.Background(), signals...)
	defer stop()
	ls, err := demoapp.Listen(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return // stopped while starting
		}
		logf("listen: %v", err)
		os.Exit(1)
	}
	go func() {
		<-ctx.Done()
		logf("shutting down: %v", context.Cause(ctx))
	}()
	if err := demoapp.New(cfg).Serve(ctx, ls, logf); err != nil {
		logf("%v", err)
		os.Exit(1)
	}
}
