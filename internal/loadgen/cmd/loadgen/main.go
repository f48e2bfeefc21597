// Command loadgen sends GETs at a fixed rate and prints, each second, the
// versions that answered and the errors, then the summary as JSON (package
// loadgen; for demos and measurements against the test cluster's data
// plane: testcluster addr svc/NAMESPACE/NAME, $ROUTER_ADDR).
//
//	loadgen [-rate 200] [-duration 30s] [-count N] [-host H] [-H 'K: V']... [-prefix P] URL
//
// The per-second lines (t=  3s v1=180 v2=20 errors=0) start with the
// prefix, so that they read apart from another program's output (make demo).
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
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: loadgen [flags] URL")
		os.Exit(2)
	}
	opts.URL = flag.Arg(0)
	opts.OnSecond = func(s loadgen.Second) { fmt.Fprintln(os.Stderr, *prefix+s.String()) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
