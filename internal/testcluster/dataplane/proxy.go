package dataplane

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// serviceKey names a Service.
type serviceKey struct{ Namespace, Name string }

func (k serviceKey) String() string { return k.Namespace + "/" + k.Name }

// servicePort is one port of a Service's spec.
type servicePort struct {
	Name string
	Port int32
}

// serviceProxy is a Service's userspace proxy: one address, a listener per
// port of its spec, each new connection to an endpoint picked among the
// ready ones in effect (see endpointsOf) — per connection, as kube-proxy.
type serviceProxy struct {
	key       serviceKey
	ip        string
	ports     []servicePort
	listeners []net.Listener
	lookup    func(serviceKey) (serviceEndpoints, bool)
	bal       balancer
	logf      func(string, ...any)
	wg        sync.WaitGroup
}

// dialTimeout bounds a dial to an endpoint. Every endpoint is a loopback
// address, where a dial is answered at once (accepted, or refused when
// nothing listens), so the bound is only ever reached when this process
// was not given a processor for that long: on a starved machine a 1 s
// bound turned stalls into resets no kube-proxy would cause (make test at
// load 16 saw 51 in a second of traffic_canary_replicas, while nothing
// was being taken away).
const dialTimeout = 10 * time.Second

func (p *serviceProxy) serve() {
	for i, l := range p.listeners {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.acceptLoop(l, p.ports[i].Name)
		}()
	}
}

func (p *serviceProxy) acceptLoop(l net.Listener, portName string) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like
			continue
		}
		go p.handle(c, portName)
	}
}

func (p *serviceProxy) handle(c net.Conn, portName string) {
	eps, _ := p.lookup(p.key)
	ep, ok := p.bal.pick(eps[portName])
	if !ok {
		// No ready endpoint: iptables rejects the SYN, the client sees its
		// connection refused; a userspace proxy has accepted already, so
		// the nearest is a reset.
		reset(c)
		return
	}
	up, err := net.DialTimeout("tcp", ep.addr(), dialTimeout)
	if err != nil {
		reset(c)
		return
	}
	splice(c, up)
}

// reset closes c with an RST instead of a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// splice copies both ways until both sides are done; a reset on one side
// is passed on as a reset to the other.
func splice(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		if err != nil && errors.Is(err, syscall.ECONNRESET) {
			reset(dst)
		} else if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	<-done
	_ = a.Close()
	_ = b.Close()
}

func (p *serviceProxy) close() {
	for _, l := range p.listeners {
		_ = l.Close()
	}
	p.wg.Wait()
}

// addrs maps each port (by name, and by number) to its host:port.
func (p *serviceProxy) addrs() map[string]string {
	out := map[string]string{}
	for i, l := range p.listeners {
		a := l.Addr().String()
		out[strconv.Itoa(int(p.ports[i].Port))] = a
		if p.ports[i].Name != "" {
			out[p.ports[i].Name] = a
		}
	}
	return out
}
