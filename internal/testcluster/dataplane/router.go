package dataplane

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// router is the HTTP entry point for Ingresses, HTTPRoutes and
// VirtualServices. It sends each request straight to an endpoint of the
// chosen Service (as ingress-nginx and Envoy do, not through the Service's
// proxy), round-robin over the endpoints in effect.
type router struct {
	d         *DataPlane
	ip, addr  string
	srv       *http.Server
	transport *http.Transport
	bals      sync.Map // dest key → *balancer
}

func startRouter(d *DataPlane) (*router, error) {
	ip, ls, err := d.alloc.bind([]int32{80})
	if err != nil {
		return nil, err
	}
	r := &router{d: d, ip: ip, addr: ls[0].Addr().String(), transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ls[0]) }()
	return r, nil
}

func (r *router) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	r.transport.CloseIdleConnections()
	r.d.alloc.release(r.ip)
}

// ServeHTTP answers 404 without a route, 503 without an endpoint (as
// ingress-nginx) and 502 when the endpoint fails.
func (r *router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	t, _ := r.d.routes.get(0)
	rl := t.match(req)
	if rl == nil {
		http.Error(w, "dataplane router: no route for host "+req.Host+" path "+req.URL.Path, http.StatusNotFound)
		return
	}
	ds, ok := rl.choose(req, rand.IntN)
	if !ok {
		http.Error(w, "dataplane router: every backend of "+rl.from+" has weight 0", http.StatusServiceUnavailable)
		return
	}
	ep, err := r.endpoint(ds)
	if err != nil {
		http.Error(w, "dataplane router: "+rl.from+": "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	target := &url.URL{Scheme: "http", Host: ep.addr()}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: r.transport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "dataplane router: "+ep.addr()+": "+err.Error(), http.StatusBadGateway)
		},
	}
	rp.ServeHTTP(w, req)
}

// endpoint picks an endpoint of d's Service port among those in effect.
func (r *router) endpoint(d dest) (endpoint, error) {
	svc, err := r.d.service(d.svc)
	if err != nil {
		return endpoint{}, err
	}
	portName, found := "", false
	for _, p := range svc.Spec.Ports {
		if (d.port != 0 && p.Port == d.port) || (d.port == 0 && d.portName != "" && p.Name == d.portName) ||
			(d.port == 0 && d.portName == "" && len(svc.Spec.Ports) == 1) {
			portName, found = p.Name, true
			break
		}
	}
	if !found {
		return endpoint{}, fmt.Errorf("service %s has no port %d%s", d.svc, d.port, d.portName)
	}
	all, _ := r.d.eps.get(d.svc)
	eps := all[portName]
	if len(d.subset) > 0 {
		var keep []endpoint
		for _, ep := range eps {
			if l, ok := r.d.podLabels(d.svc.Namespace, ep.Pod); ok && ep.Pod != "" && subsetOf(d.subset, l) {
				keep = append(keep, ep)
			}
		}
		eps = keep
	}
	b, _ := r.bals.LoadOrStore(d.key(), &balancer{})
	ep, ok := b.(*balancer).pick(eps)
	if !ok {
		return endpoint{}, errors.New("no ready endpoint for service " + d.svc.String())
	}
	return ep, nil
}

func subsetOf(want, have map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func (d dest) key() string {
	var ls []string
	for k, v := range d.subset {
		ls = append(ls, k+"="+v)
	}
	sort.Strings(ls)
	return fmt.Sprintf("%s:%d:%s:%s", d.svc, d.port, d.portName, strings.Join(ls, ","))
}
