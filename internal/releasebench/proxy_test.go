package releasebench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/cutoverhq/cutover/internal/testcluster"
)

// counts are the requests a client made, by kind. A watch is a GET with
// watch=true; it is counted apart from reads because it is one long request
// rather than a round trip.
type counts struct {
	Reads, Writes, Watches int
	// State is the part of the total spent on cutover's own run state:
	// Journal (Secrets cutover-run-*, or ConfigMaps in the older format) and
	// Lock (Leases). kubectl keeps none.
	State, Journal, Lock int
	ByRoute              map[string]int // "GET /apis/apps/v1/namespaces/*/deployments/x" → n
	// Seq is every request in the order they came, with the time since the
	// counts were last reset and the query (names and values), for a log.
	Seq   []string
	First time.Time // when the first request came
}

func (c counts) Total() int { return c.Reads + c.Writes + c.Watches }

// Routes lists ByRoute, most frequent first, for a log line.
func (c counts) Routes() string {
	keys := make([]string, 0, len(c.ByRoute))
	for k := range c.ByRoute {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if c.ByRoute[keys[i]] != c.ByRoute[keys[j]] {
			return c.ByRoute[keys[i]] > c.ByRoute[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %3d %s\n", c.ByRoute[k], k)
	}
	return b.String()
}

// countingProxy is a TLS reverse proxy in front of the apiserver that counts
// what passes. testcluster's FaultProxy counts requests but not by kind, and
// its serving certificate comes from the cluster's unexported PKI, so this
// one serves a self-signed certificate that its kubeconfigs trust instead;
// the bearer token is the cluster's admin token, as for direct access.
type countingProxy struct {
	URL    string
	caPEM  []byte
	token  string
	srv    *http.Server
	mu     sync.Mutex
	counts counts
	since  time.Time // of the last reset
}

func startCountingProxy(c *testcluster.Cluster) (*countingProxy, error) {
	upstream, err := url.Parse(c.Server())
	if err != nil {
		return nil, err
	}
	cert, caPEM, err := selfSigned()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAData())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &countingProxy{URL: "https://" + ln.Addr().String(), caPEM: caPEM, token: c.Token()}
	p.reset()
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Host = upstream.Host
		},
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		FlushInterval: -1, // stream watches as they come
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	p.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.count(r)
			rp.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = p.srv.ServeTLS(ln, "", "") }()
	return p, nil
}

func (p *countingProxy) count(r *http.Request) {
	watch := r.URL.Query().Get("watch")
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && (watch == "true" || watch == "1"):
		p.counts.Watches++
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		p.counts.Reads++
	default:
		p.counts.Writes++
	}
	switch stateKind(r.URL.Path) {
	case "journal":
		p.counts.Journal++
		p.counts.State++
	case "lock":
		p.counts.Lock++
		p.counts.State++
	}
	p.counts.ByRoute[r.Method+" "+route(r.URL)]++
	if p.counts.First.IsZero() {
		p.counts.First = time.Now()
	}
	line := fmt.Sprintf("%6.0fms %s %s", float64(time.Since(p.since))/float64(time.Millisecond), r.Method, route(r.URL))
	if q := r.URL.Query(); len(q) > 0 {
		q.Del("watch")
		if enc, err := url.QueryUnescape(q.Encode()); err == nil && enc != "" {
			line += " [" + enc + "]"
		}
	}
	p.counts.Seq = append(p.counts.Seq, line)
}

// stateKind tells cutover's own run state from the release: "journal" for
// ConfigMaps (the journal's older format) and for Secrets that are runs
// (cutover-run-*, or the collection: listing runs), "lock" for Leases, ""
// for the rest. None of the benchmarks' pipelines touches a ConfigMap,
// Secret or Lease of its own.
func stateKind(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range parts {
		switch p {
		case "leases":
			return "lock"
		case "configmaps":
			return "journal"
		case "secrets":
			if i+1 == len(parts) || strings.HasPrefix(parts[i+1], "cutover-run") {
				return "journal"
			}
			return ""
		}
	}
	return ""
}

// route hides the namespace, so the breakdown reads the same in every
// namespace a benchmark creates.
func route(u *url.URL) string {
	parts := strings.Split(u.Path, "/")
	for i := 0; i+1 < len(parts); i++ { // parts[i+1] is the namespace's name
		if parts[i] == "namespaces" {
			parts[i+1] = "*"
		}
	}
	path := strings.Join(parts, "/")
	if u.Query().Get("watch") != "" {
		path += "?watch"
	}
	return path
}

func (p *countingProxy) reset() {
	p.mu.Lock()
	p.counts = counts{ByRoute: map[string]int{}}
	p.since = time.Now()
	p.mu.Unlock()
}

// take returns the counts so far and starts again from zero.
func (p *countingProxy) take() counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	p.counts = counts{ByRoute: map[string]int{}}
	p.since = time.Now()
	return c
}

func (p *countingProxy) Close() error { return p.srv.Close() }

// writeKubeconfig writes a kubeconfig through the proxy whose context
// namespace is ns.
func (p *countingProxy) writeKubeconfig(path, ns string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["counted"] = &clientcmdapi.Cluster{Server: p.URL, CertificateAuthorityData: p.caPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: p.token}
	cfg.Contexts["counted"] = &clientcmdapi.Context{Cluster: "counted", AuthInfo: "admin", Namespace: ns}
	cfg.CurrentContext = "counted"
	return clientcmd.WriteToFile(*cfg, path)
}

// selfSigned makes a serving certificate for 127.0.0.1 that is its own CA.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "releasebench counting proxy"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caPEM, nil
}
