package testcluster

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// FaultConfig says which faults a FaultProxy injects. Rates are
// probabilities in [0,1], drawn per request.
type FaultConfig struct {
	// Fail answers 500 InternalError (a Status) instead of forwarding.
	Fail float64
	// Conflict answers 409 Conflict to writes (POST, PUT, PATCH, DELETE),
	// with the Status the apiserver gives for a stale resourceVersion.
	Conflict float64
	// Drop closes the connection without an answer.
	Drop float64
	// Delay is added before each forwarded request.
	Delay time.Duration
	// Match, when set, limits faults to request paths that match it.
	Match *regexp.Regexp
	// Watch makes watch requests eligible for faults too (by default they
	// pass through untouched, so waits keep working).
	Watch bool
	// Seed seeds the random draws (0: a random seed).
	Seed uint64
}

// FaultStats counts what a FaultProxy did.
type FaultStats struct {
	Requests, Forwarded, Failed, Conflicts, Dropped int64
}

func (s FaultStats) String() string {
	return fmt.Sprintf("requests=%d forwarded=%d failed=%d conflicts=%d dropped=%d",
		s.Requests, s.Forwarded, s.Failed, s.Conflicts, s.Dropped)
}

// FaultProxy is a reverse proxy in front of the apiserver that injects
// faults. It serves HTTPS (HTTP/1.1, so a dropped connection is a closed TCP
// connection) with a certificate from the cluster's CA, so kubeconfigs for it
// carry the same CA and token as the direct ones. (client-go sends no
// credentials to a plain-HTTP server named in a kubeconfig.)
type FaultProxy struct {
	URL  string // https://127.0.0.1:PORT
	Seed uint64

	cfg   FaultConfig
	srv   *http.Server
	ln    net.Listener
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	rnd   *rand.Rand
	stats struct{ requests, forwarded, failed, conflicts, dropped atomic.Int64 }
}

// StartFaultProxy starts a proxy in front of the cluster's apiserver.
func (c *Cluster) StartFaultProxy(cfg FaultConfig) (*FaultProxy, error) {
	upstream, err := url.Parse(c.server)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.pki.CAPEM)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	cert, err := c.pki.servingCert()
	if err != nil {
		ln.Close()
		return nil, err
	}
	p := &FaultProxy{URL: "https://" + ln.Addr().String(), Seed: seed, cfg: cfg, ln: ln, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Host = upstream.Host
		},
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool},
			ForceAttemptHTTP2: true,
			MaxIdleConns:      100,
		},
		FlushInterval: -1, // stream watches
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){}, // no HTTP/2
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = p.srv.ServeTLS(ln, "", "") }()
	return p, nil
}

func (p *FaultProxy) draw(rate float64) bool {
	if rate <= 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rnd.Float64() < rate
}

// ServeHTTP forwards r, or injects a fault.
func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.stats.requests.Add(1)
	eligible := p.cfg.Match == nil || p.cfg.Match.MatchString(r.URL.Path)
	if r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1" {
		eligible = eligible && p.cfg.Watch
	}
	if eligible {
		write := r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodDelete
		switch {
		case p.draw(p.cfg.Drop):
			p.stats.dropped.Add(1)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		case p.draw(p.cfg.Fail):
			p.stats.failed.Add(1)
			writeStatus(w, http.StatusInternalServerError, "InternalError", "kproxy: injected internal error")
			return
		case write && p.draw(p.cfg.Conflict):
			p.stats.conflicts.Add(1)
			writeStatus(w, http.StatusConflict, "Conflict",
				"Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again (kproxy: injected)")
			return
		}
	}
	if p.cfg.Delay > 0 {
		select {
		case <-time.After(p.cfg.Delay):
		case <-r.Context().Done():
			return
		}
	}
	p.stats.forwarded.Add(1)
	p.proxy.ServeHTTP(w, r)
}

func writeStatus(w http.ResponseWriter, code int, reason, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code,
	})
}

// Stats returns the counters so far.
func (p *FaultProxy) Stats() FaultStats {
	return FaultStats{
		Requests: p.stats.requests.Load(), Forwarded: p.stats.forwarded.Load(), Failed: p.stats.failed.Load(),
		Conflicts: p.stats.conflicts.Load(), Dropped: p.stats.dropped.Load(),
	}
}

// Close stops the proxy.
func (p *FaultProxy) Close() error { return p.srv.Close() }

// WriteKubeconfig writes a kubeconfig (admin token, context namespace) that
// goes through the proxy.
func (p *FaultProxy) WriteKubeconfig(c *Cluster, path, namespace string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kproxy"] = &clientcmdapi.Cluster{Server: p.URL, CertificateAuthorityData: c.pki.CAPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.adminToken}
	cfg.Contexts["kproxy"] = &clientcmdapi.Context{Cluster: "kproxy", AuthInfo: "admin", Namespace: namespace}
	cfg.CurrentContext = "kproxy"
	return clientcmd.WriteToFile(*cfg, path)
}

var scenarioProxies sync.Map // *testscript.TestScript -> *FaultProxy

func cmdKproxy(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! kproxy")
	}
	if len(args) == 1 && (args[0] == "stats" || args[0] == "off") {
		v, ok := scenarioProxies.Load(ts)
		if !ok {
			ts.Fatalf("kproxy %s: no proxy running", args[0])
		}
		p := v.(*FaultProxy)
		if args[0] == "stats" {
			fmt.Fprintln(ts.Stdout(), p.Stats())
			return
		}
		ts.Setenv("KUBECONFIG", ts.Getenv(envDirectKubeconfig))
		return
	}
	c := Running()
	if c == nil || ts.Getenv(envDirectKubeconfig) == "" {
		ts.Fatalf("kproxy: run the cluster command first")
	}
	fs := flag.NewFlagSet("kproxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cfg FaultConfig
	var match string
	fs.Float64Var(&cfg.Fail, "fail", 0, "rate of 500 answers")
	fs.Float64Var(&cfg.Conflict, "conflict", 0, "rate of 409 answers to writes")
	fs.Float64Var(&cfg.Drop, "drop", 0, "rate of dropped connections")
	fs.DurationVar(&cfg.Delay, "delay", 0, "latency added to each request")
	fs.StringVar(&match, "match", "", "regexp: only paths that match get faults")
	fs.BoolVar(&cfg.Watch, "watch", false, "watch requests get faults too")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "random seed (0: random)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		ts.Fatalf("usage: kproxy [-fail RATE] [-conflict RATE] [-drop RATE] [-delay D] [-match RE] [-watch] [-seed N] | kproxy stats | kproxy off")
	}
	if match != "" {
		re, err := regexp.Compile(match)
		ts.Check(err)
		cfg.Match = re
	}
	if v, ok := scenarioProxies.LoadAndDelete(ts); ok {
		v.(*FaultProxy).Close()
	}
	p, err := c.StartFaultProxy(cfg)
	ts.Check(err)
	scenarioProxies.Store(ts, p)
	ts.Defer(func() {
		scenarioProxies.Delete(ts)
		p.Close()
	})
	path := filepath.Join(ts.Getenv("WORK"), "kproxy.kubeconfig")
	ts.Check(p.WriteKubeconfig(c, path, ts.Getenv("NAMESPACE")))
	ts.Setenv("KUBECONFIG", path)
	ts.Setenv("KPROXY_URL", p.URL)
	ts.Logf("kproxy %s (seed %d) -> %s", p.URL, p.Seed, c.Server())
}
