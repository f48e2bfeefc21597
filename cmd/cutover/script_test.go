package main

import (
	"bytes"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

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
// last repeats), to stage a flaky endpoint.
func cmdHTTPServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: httpserve NAME STATUS[,STATUS…] BODY")
	}
	var statuses []int
	for _, s := range strings.Split(args[1], ",") {
		var n int
		for _, ch := range s {
			n = n*10 + int(ch-'0')
		}
		statuses = append(statuses, n)
	}
	body := []byte(args[2])
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
	})}
	go srv.Serve(l)
	ts.Defer(func() { srv.Close() })
	ts.Setenv(args[0]+"_URL", "http://"+l.Addr().String())
}
