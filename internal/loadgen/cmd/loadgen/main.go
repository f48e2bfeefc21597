// Command loadgen sends GETs at a fixed rate and prints, each second, the
// versions that answered and the errors, then the summary as JSON (package
// loadgen; for demos and measurements against the test cluster's data
// plane: testcluster addr svc/NAMESPACE/NAME, $ROUTER_ADDR).
//
//	loadgen [-rate 200] [-duration 30s] [-count N] [-host H] [-H 'K: V']... [-prefix P] URL
//	loadgen -await [-version V] [-for D] [-await-timeout 60s] [-host H] [-H 'K: V']... [-prefix P] URL
//
// The per-second lines (t=  3s v1=180 v2=20 errors=0) start with the
// prefix, so that they read apart from another program's output (make demo).
// Exit status 1: a request failed.
//
// -await sends nothing counted: it polls URL until it answers below 400
// (from version V; every answer for D), then exits 0, or 1 after the
// timeout with the last answer. Counted traffic that starts after it
// measures a release, not the data plane's propagation delay for a Service
// just created (make demo).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cutoverhq/cutover/internal/loadgen"
)

type headers http.Header

func (h headers) String() string { return "" }
func (h headers) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("want 'Name: value'")
	}
	http.Header(h).Add(strings.TrimSpace(k), strings.TrimSpace(val))
	return nil
}

func main() {
	opts := loadgen.Options{Header: http.Header{}}
	flag.Float64Var(&opts.Rate, "rate", loadgen.DefaultRate, "requests per second")
	flag.DurationVar(&opts.Duration, "duration", 0, "how long (0: until interrupted, at most 10m)")
	flag.IntVar(&opts.Count, "count", 0, "how many requests (0: no bound)")
	flag.StringVar(&opts.Host, "host", "", "Host header")
	flag.DurationVar(&opts.Timeout, "timeout", 0, "per request (default 5s)")
	flag.BoolVar(&opts.KeepAlive, "keepalive", false, "reuse connections")
	flag.Var(headers(opts.Header), "H", "header 'Name: value' (repeatable)")
	prefix := flag.String("prefix", "", "start each per-second line with this")
	await := flag.Bool("await", false, "only wait until URL answers below 400 (see -version, -for), then exit")
	version := flag.String("version", "", "with -await: the version that must answer")
	steady := flag.Duration("for", 0, "with -await: every answer good, without a break, for this long")
	awaitTimeout := flag.Duration("await-timeout", loadgen.DefaultAwaitTimeout, "with -await: give up after this long")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: loadgen [flags] URL")
		os.Exit(2)
	}
	opts.URL = flag.Arg(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *await {
		begin := time.Now()
		err := loadgen.Await(ctx, loadgen.AwaitOptions{URL: opts.URL, Host: opts.Host, Header: opts.Header,
			Version: *version, For: *steady, Timeout: *awaitTimeout})
		if err != nil {
			fmt.Fprintf(os.Stderr, "%sawait %s: %v\n", *prefix, opts.URL, err)
			os.Exit(1)
		}
		what := "answered"
		if *version != "" {
			what += " from " + *version
		}
		if *steady > 0 {
			what += ", every answer for " + steady.String() + ","
		}
		fmt.Fprintf(os.Stderr, "%sawait %s: %s after %s\n", *prefix, opts.URL, what, time.Since(begin).Round(10*time.Millisecond))
		return
	}
	opts.OnSecond = func(s loadgen.Second) { fmt.Fprintln(os.Stderr, *prefix+s.String()) }
	r, err := loadgen.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	s := r.Wait()
	fmt.Fprintln(os.Stderr, *prefix+s.String())
	data, _ := json.MarshalIndent(s, "", "  ")
	fmt.Println(string(data))
	if s.Errors > 0 {
		os.Exit(1)
	}
}
