package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cutoverhq/cutover/internal/loadgen/loadtest"
	"github.com/cutoverhq/cutover/internal/testcluster"
)

func TestMain(m *testing.M) {
	testcluster.Main(m, map[string]func(){
		"cutover": main,
	})
}

// TestScript runs the stories under testdata/script against the real
// binary (and, for those that start with `cluster`, the local control
// plane of internal/testcluster).
func TestScript(t *testing.T) {
	p := testcluster.Params("testdata/script")
	clusterCmds := p.Cmds
	p.Cmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"httpserve": cmdHTTPServe,
		"webhook":   cmdWebhook,
		"exits":     cmdExits,
	}
	for k, v := range clusterCmds {
		p.Cmds[k] = v
	}
	for k, v := range loadtest.Cmds() {
		p.Cmds[k] = v
	}
	pipelines, err := filepath.Abs("../../pipelines")
	if err != nil {
		t.Fatal(err)
	}
	clusterSetup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		// Scenarios run the real pipelines of the repository, not copies.
		env.Setenv("PIPELINES", pipelines)
		env.Setenv("CI", "")
		return clusterSetup(env)
	}
	p.RequireExplicitExec = true
	p.RequireUniqueNames = true
	testscript.Run(t, p)
}

// httpserve NAME STATUS BODY: serves BODY with STATUS on a free loopback
// port for the rest of the script and sets $NAME_URL to its address. A
// status list like 503,503,200 answers each request with the next one (the
// last repeats), to stage a flaky endpoint. $WORK/NAME.last holds the time
// of its last answer (RFC 3339), for load settled.
func cmdHTTPServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: httpserve NAME STATUS[,STATUS…] BODY")
	}
	statuses := parseStatuses(args[1])
	body := []byte(args[2])
	last := ts.MkAbs(args[0] + ".last")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	var mu sync.Mutex
	hits := 0
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st := statuses[min(hits, len(statuses)-1)]
		hits++
		mu.Unlock()
		if bytes.HasPrefix(body, []byte("{")) {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(st)
		w.Write(body)
		os.WriteFile(last, []byte(time.Now().Format(time.RFC3339Nano)), 0o644)
	})}
	go srv.Serve(l)
	ts.Defer(func() { srv.Close() })
	ts.Setenv(args[0]+"_URL", "http://"+l.Addr().String())
}

func parseStatuses(list string) []int {
	var statuses []int
	for _, s := range strings.Split(list, ",") {
		var n int
		for _, ch := range s {
			n = n*10 + int(ch-'0')
		}
		statuses = append(statuses, n)
	}
	return statuses
}

// webhook NAME STATUS[,STATUS…] | hang: a notification receiver on a free
// loopback port for the rest of the script; $NAME_URL is its address. Each
// request is answered with the next status of the list (the last repeats)
// and logged as "N STATUS PATH" in $WORK/NAME.log, its body as one line of
// $WORK/NAME.bodies when the status is 2xx (what the receiver kept), of
// $WORK/NAME.refused otherwise. "hang" accepts requests and never answers:
// a dead receiver.
func cmdWebhook(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: webhook NAME STATUS[,STATUS…]|hang")
	}
	name, hang := args[0], args[1] == "hang"
	var statuses []int
	if !hang {
		statuses = parseStatuses(args[1])
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	stop := make(chan struct{})
	var mu sync.Mutex
	hits := 0
	appendTo := func(file, line string) {
		f, err := os.OpenFile(ts.MkAbs(file), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if hang {
			select {
			case <-stop:
			case <-r.Context().Done():
			}
			return
		}
		mu.Lock()
		defer mu.Unlock()
		st := statuses[min(hits, len(statuses)-1)]
		hits++
		appendTo(name+".log", fmt.Sprintf("%d %d %s", hits, st, r.URL.Path))
		var compact bytes.Buffer
		if json.Compact(&compact, b) != nil {
			compact.Reset()
			compact.WriteString("(not JSON) " + strconv.Quote(string(b)))
		}
		if st >= 200 && st <= 299 {
			appendTo(name+".bodies", compact.String())
		} else {
			appendTo(name+".refused", compact.String())
		}
		w.WriteHeader(st)
	})}
	go srv.Serve(l)
	ts.Defer(func() { close(stop); srv.Close() })
	ts.Setenv(name+"_URL", "http://"+l.Addr().String())
}

// exits CODE PROG [ARGS…]: runs PROG as exec does and fails unless it exits
// with CODE; its stdout and stderr are there for the checks that follow.
// Exit codes are part of the command line's contract (exitcodes.go).
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS…]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	var ee *exec.ExitError
	if err := ts.Exec(args[1], args[2:]...); errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}
