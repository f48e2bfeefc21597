package loadtest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cutoverhq/cutover/internal/loadgen"
	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/internal/testcluster/podnet"
)

func TestMain(m *testing.M) { testcluster.Main(m, nil) }

func TestScript(t *testing.T) {
	p := testcluster.Params("testdata/script")
	for k, v := range Cmds() {
		p.Cmds[k] = v
	}
	p.Cmds["backend"] = cmdBackend
	testscript.Run(t, p)
}

// backend SERVICE VERSION: a server answering VERSION in X-Version on a
// loopback address of the process pods' range, for the rest of the script,
// and $WORK/SERVICE-VERSION.yaml, an EndpointSlice of Service SERVICE with
// it as the one endpoint (a stand-in for a pod).
func cmdBackend(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: backend SERVICE VERSION")
	}
	svc, version := args[0], args[1]
	l, err := net.Listen("tcp", "127.253.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(loadgen.VersionHeader, version)
		fmt.Fprintln(w, version)
	})}
	go srv.Serve(l)
	ts.Defer(func() { srv.Close() })
	host, port, _ := net.SplitHostPort(l.Addr().String())
	slice := fmt.Sprintf(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[1]s-%[2]s, labels: {kubernetes.io/service-name: %[1]s}}
addressType: IPv4
ports: [{name: http, port: %[3]s}]
endpoints: [{addresses: [%[4]q]}]
`, svc, version, port, podnet.PodIP(host))
	ts.Check(os.WriteFile(ts.MkAbs(svc+"-"+version+".yaml"), []byte(slice), 0o644))
}
