// Package loadtest gives testscript scenarios the load generator:
//
//	load start NAME TARGET [rate=200] [duration=D] [count=N] [timeout=D]
//	     [host=H] [header=K:V]... [cookie=K=V]... [keepalive] [refresh=D]
//	    send GETs to TARGET at a fixed rate in the background, until the
//	    bound (duration or count; neither: until stopped, at most 10m).
//	load wait NAME      wait for the bound, then as stop
//	load stop NAME      stop; log the per-second lines and the summary, print
//	                    the summary JSON to stdout and save it as $WORK/load-NAME.json
//	load expect NAME ASSERTION...
//	    after stop or wait; each ASSERTION is one of
//	      errors=N errors<=N   failed requests (refused, reset, eof, timeout, 4xx, 5xx)
//	      requests>=N ok>=N    requests answered or failed / answered below 400
//	      only=V[,V]           every answer came from these versions
//	      seen=V unseen=V      V answered at least once / never
//	      share=V:P±T          V's share of the answers is P±T percent (also P+-T)
//	      kind=K:N             N errors of kind K
//	load settled NAME VERSION FILE [max=30s]
//	    after stop or wait: from the instant FILE holds (RFC 3339, such as
//	    $WORK/NAME.last of a stub's last answer), how long until only
//	    VERSION answered: the last answer of another version, and the first
//	    second of the run from which on only VERSION answered; logged and
//	    printed; fails unless both came within max.
//	load addr VAR TARGET
//	    set $VAR to TARGET's URL (for a pipeline's probe or gate).
//	load await TARGET [host=H] [header=K:V]... [version=V] [for=D] [timeout=60s]
//	    wait until TARGET answers below 400 (from version V; for=D: every
//	    answer, without a break, for D): the data plane has acted on what
//	    the scenario applied (the propagation delay).
//	load await TARGET [host=H] [header=K:V]... share=V:P±T [window=400] [timeout=60s]
//	    send windows of requests (1000/s) until one has no error and V's
//	    share of it is P±T percent: the data plane acts on a new weight.
//
// TARGET is a URL; svc/NAME[.NAMESPACE][:PORT][/PATH] (the Service's proxy,
// $NAMESPACE by default, its first port by default); or router[/PATH] (the
// ingress and mesh router; give host=); or registry/APP[/PATH] for load start
// (each request to an UP instance of APP in the registry space $REGISTRY_URL,
// http://HOST:PORT/NAMESPACE, as a Eureka client: its copy of the list is
// refreshed every refresh=D, default 2s). Addresses come from the data plane
// of the cluster command (see docs/design.md, "Test cluster data plane").
package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cutoverhq/cutover/internal/loadgen"
	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/internal/testcluster/dataplane"
)

// Cmds returns the load command for testscript.Params.Cmds.
func Cmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){"load": cmdLoad}
}

type run struct {
	r       *loadgen.Run
	summary *loadgen.Summary // once stopped
}

var (
	mu   sync.Mutex
	runs = map[*testscript.TestScript]map[string]*run{}
)

func cmdLoad(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! load")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: load start|wait|stop|expect|settled|addr|await ...")
	}
	switch args[0] {
	case "start":
		start(ts, args[1:])
	case "wait", "stop":
		finish(ts, args[1], args[0] == "stop")
	case "expect":
		expect(ts, args[1], args[2:])
	case "await":
		await(ts, args[1], args[2:])
	case "settled":
		settled(ts, args[1:])
	case "addr":
		if len(args) != 3 {
			ts.Fatalf("usage: load addr VAR TARGET")
		}
		ts.Setenv(args[1], resolve(ts, args[2]))
	default:
		ts.Fatalf("load: unknown subcommand %q (start, wait, stop, expect, settled, addr, await)", args[0])
	}
}

func start(ts *testscript.TestScript, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: load start NAME TARGET [rate=N] [duration=D] [count=N] [host=H] [header=K:V]... [cookie=K=V]... [timeout=D] [keepalive]")
	}
	name := args[0]
	opts := loadgen.Options{Header: http.Header{}}
	var refresh time.Duration
	for _, a := range args[2:] {
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "refresh":
			refresh, err = time.ParseDuration(v)
		case "rate":
			opts.Rate, err = strconv.ParseFloat(v, 64)
		case "duration":
			opts.Duration, err = time.ParseDuration(v)
		case "timeout":
			opts.Timeout, err = time.ParseDuration(v)
		case "count":
			opts.Count, err = strconv.Atoi(v)
		case "host":
			opts.Host = v
		case "header":
			hk, hv, ok := strings.Cut(v, ":")
			if !ok {
				ts.Fatalf("load start: header=%s: want header=NAME:VALUE", v)
			}
			opts.Header.Add(strings.TrimSpace(hk), strings.TrimSpace(hv))
		case "cookie":
			ck, cv, ok := strings.Cut(v, "=")
			if !ok {
				ts.Fatalf("load start: cookie=%s: want cookie=NAME=VALUE", v)
			}
			opts.Cookies = append(opts.Cookies, &http.Cookie{Name: ck, Value: cv})
		case "keepalive":
			opts.KeepAlive = true
		default:
			ts.Fatalf("load start: unknown option %q", a)
		}
		if err != nil {
			ts.Fatalf("load start: %s: %v", a, err)
		}
	}
	if app, ok := strings.CutPrefix(args[1], "registry/"); ok {
		app, path, _ := strings.Cut(app, "/")
		space := ts.Getenv("REGISTRY_URL")
		if space == "" {
			ts.Fatalf("load start: %s: $REGISTRY_URL is not set (the registry space, http://HOST:PORT/NAMESPACE)", args[1])
		}
		opts.Targets = loadgen.NewRegistryTargets(space, app, "/"+path, refresh)
		opts.URL = space + " app " + app
	} else {
		opts.URL = resolve(ts, args[1])
	}
	mu.Lock()
	defer mu.Unlock()
	if runs[ts] == nil {
		runs[ts] = map[string]*run{}
		ts.Defer(func() {
			mu.Lock()
			mine := runs[ts]
			delete(runs, ts)
			mu.Unlock()
			for _, r := range mine {
				r.r.Stop()
			}
		})
	}
	if runs[ts][name] != nil {
		ts.Fatalf("load start: %s already started", name)
	}
	r, err := loadgen.Start(context.Background(), opts)
	ts.Check(err)
	runs[ts][name] = &run{r: r}
	ts.Logf("load %s: %s at %g/s", name, opts.URL, r.Summary().Rate)
}

func get(ts *testscript.TestScript, name string) *run {
	mu.Lock()
	defer mu.Unlock()
	r := runs[ts][name]
	if r == nil {
		ts.Fatalf("load: no run %s (load start first)", name)
	}
	return r
}

func finish(ts *testscript.TestScript, name string, stop bool) {
	r := get(ts, name)
	if r.summary == nil {
		if stop {
			r.summary = r.r.Stop()
		} else {
			r.summary = r.r.Wait()
		}
	}
	s := r.summary
	var b strings.Builder
	for _, sec := range s.Seconds {
		b.WriteString(sec.String() + "\n")
	}
	ts.Logf("load %s per second:\n%sload %s: %s", name, b.String(), name, s)
	data, err := json.MarshalIndent(s, "", "  ")
	ts.Check(err)
	ts.Check(os.WriteFile(filepath.Join(ts.Getenv("WORK"), "load-"+name+".json"), data, 0o644))
	fmt.Fprintf(ts.Stdout(), "%s\n", data)
}

func expect(ts *testscript.TestScript, name string, asserts []string) {
	r := over(ts, "expect", name)
	if len(asserts) == 0 {
		ts.Fatalf("usage: load expect NAME ASSERTION...")
	}
	for _, a := range asserts {
		if err := check(r.summary, a); err != nil {
			ts.Fatalf("load expect %s %s: %v\n(%s)", name, a, err, r.summary)
		}
	}
}

// over is a run that was stopped or waited for.
func over(ts *testscript.TestScript, cmd, name string) *run {
	r := get(ts, name)
	if r.summary == nil {
		ts.Fatalf("load %s %s: the run is not over (load stop or load wait first)", cmd, name)
	}
	return r
}

func settled(ts *testscript.TestScript, args []string) {
	if len(args) < 3 || len(args) > 4 {
		ts.Fatalf("usage: load settled NAME VERSION FILE [max=DURATION]")
	}
	r := over(ts, "settled", args[0])
	limit := 30 * time.Second
	if len(args) == 4 {
		v, ok := strings.CutPrefix(args[3], "max=")
		d, err := time.ParseDuration(v)
		if !ok || err != nil {
			ts.Fatalf("load settled: %s: want max=DURATION", args[3])
		}
		limit = d
	}
	data, err := os.ReadFile(ts.MkAbs(args[2]))
	ts.Check(err)
	at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(data)))
	if err != nil {
		ts.Fatalf("load settled: %s: %v", args[2], err)
	}
	t, ok := r.summary.SettledOn(args[1], at)
	ts.Logf("load %s settled on %s after %s: %s", args[0], args[1], args[2], t)
	fmt.Fprintf(ts.Stdout(), "settled %s: %s\n", args[1], t)
	if !ok {
		ts.Fatalf("load settled %s: %s never answered alone until the end of the run", args[0], args[1])
	}
	if t.Last > limit.Seconds() || t.After > limit.Seconds() {
		ts.Fatalf("load settled %s: later than %s", args[0], limit)
	}
}

// resolve turns a TARGET into a URL.
func resolve(ts *testscript.TestScript, target string) string {
	if strings.Contains(target, "://") {
		return target
	}
	kind, rest, _ := strings.Cut(target, "/")
	path := ""
	switch kind {
	case "router":
		if rest != "" {
			path = "/" + rest
		}
		addr := ts.Getenv(testcluster.EnvRouterAddr)
		if addr == "" {
			ts.Fatalf("load: no router (run the cluster command first; is the data plane off?)")
		}
		return "http://" + addr + orSlash(path)
	case "svc":
		svc, p, _ := strings.Cut(rest, "/")
		if p != "" {
			path = "/" + p
		}
		svc, port, _ := strings.Cut(svc, ":")
		name, ns, _ := strings.Cut(svc, ".")
		if ns == "" {
			ns = ts.Getenv("NAMESPACE")
		}
		addr, err := waitService(ts.Getenv(testcluster.EnvDataPlaneAddrs), ns, name, port)
		ts.Check(err)
		return "http://" + addr + orSlash(path)
	}
	ts.Fatalf("load: target %q: want a URL, svc/NAME[.NAMESPACE][:PORT][/PATH] or router[/PATH]", target)
	return ""
}

func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// waitService waits until the data plane proxies the Service (a new
// Service gets its address as soon as the data plane sees it).
func waitService(file, ns, name, port string) (string, error) {
	if file == "" {
		return "", fmt.Errorf("load: no data plane (run the cluster command first; is the data plane off?)")
	}
	deadline := time.Now().Add(testcluster.DefaultTimeout)
	for {
		a, err := dataplane.ReadAddrs(file)
		if err == nil {
			if addr, ok := a.Service(ns, name, port); ok {
				return addr, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("load: service %s/%s port %q not proxied after %s (in %s)", ns, name, port, testcluster.DefaultTimeout, file)
		}
		time.Sleep(25 * time.Millisecond) // the address file has no watch
	}
}

func await(ts *testscript.TestScript, target string, args []string) {
	url := resolve(ts, target)
	timeout, version, host, header := testcluster.DefaultTimeout, "", "", http.Header{}
	var steady time.Duration
	share, window := "", 400
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "host":
			host = v
		case "version":
			version = v
		case "header":
			hk, hv, _ := strings.Cut(v, ":")
			header.Add(strings.TrimSpace(hk), strings.TrimSpace(hv))
		case "timeout":
			timeout, err = time.ParseDuration(v)
		case "for":
			steady, err = time.ParseDuration(v)
		case "share":
			share = a
		case "window":
			window, err = strconv.Atoi(v)
		default:
			ts.Fatalf("load await: unknown option %q", a)
		}
		if err != nil {
			ts.Fatalf("load await: %s: %v", a, err)
		}
	}
	if share != "" {
		awaitShare(ts, loadgen.Options{URL: url, Host: host, Header: header, Count: window, Rate: 1000}, share, time.Now().Add(timeout))
		return
	}
	err := loadgen.Await(context.Background(), loadgen.AwaitOptions{URL: url, Host: host, Header: header, Version: version, For: steady, Timeout: timeout})
	if err != nil {
		ts.Fatalf("load await %s: %v", target, err)
	}
}

// awaitShare sends windows of requests until one has no error and the
// share assertion holds: the data plane acts on a new weight.
func awaitShare(ts *testscript.TestScript, opts loadgen.Options, share string, deadline time.Time) {
	for {
		r, err := loadgen.Start(context.Background(), opts)
		ts.Check(err)
		s := r.Wait()
		err = check(s, share)
		if err == nil && s.Errors == 0 {
			ts.Logf("load await: %s", s)
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("load await %s: %s not reached before the deadline; last window: %s", opts.URL, share, s)
		}
	}
}
