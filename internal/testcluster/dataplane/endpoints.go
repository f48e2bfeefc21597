package dataplane

import (
	"net"
	"sort"
	"strconv"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/cutoverhq/cutover/internal/testcluster/podnet"
)

// endpoint is one address a Service port sends to.
type endpoint struct {
	IP   string
	Port int32
	Pod  string // targetRef name, when it is a Pod
}

// addr is where to dial it: a process pod's loopback address for its pod
// IP (package podnet).
func (e endpoint) addr() string {
	return net.JoinHostPort(podnet.Local(e.IP), strconv.Itoa(int(e.Port)))
}

// serviceEndpoints are a Service's endpoints by port name, as the proxies
// see them (after the propagation delay).
type serviceEndpoints map[string][]endpoint

// endpointsOf reads the EndpointSlices of one Service the way kube-proxy
// does: only ready endpoints (ready unset counts as ready), never
// terminating ones — a terminating endpoint gets no new connections.
// Duplicate addresses across slices count once.
func endpointsOf(slices []*discoveryv1.EndpointSlice) serviceEndpoints {
	out := serviceEndpoints{}
	seen := map[string]bool{}
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		for _, p := range s.Ports {
			if p.Port == nil || (p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP) {
				continue
			}
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			for _, e := range s.Endpoints {
				if !usable(e.Conditions) || len(e.Addresses) == 0 {
					continue
				}
				ep := endpoint{IP: e.Addresses[0], Port: *p.Port}
				if e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
					ep.Pod = e.TargetRef.Name
				}
				key := name + "/" + ep.addr()
				if seen[key] {
					continue
				}
				seen[key] = true
				out[name] = append(out[name], ep)
			}
		}
	}
	for _, eps := range out {
		sort.Slice(eps, func(i, j int) bool { return eps[i].addr() < eps[j].addr() })
	}
	return out
}

func usable(c discoveryv1.EndpointConditions) bool {
	if c.Terminating != nil && *c.Terminating {
		return false
	}
	if c.Ready != nil && !*c.Ready {
		return false
	}
	return c.Serving == nil || *c.Serving
}

// balancer spreads new connections (or requests) over endpoints round-robin,
// as kube-proxy's ipvs mode does by default; its iptables mode picks at
// random, which spreads the same on average.
type balancer struct{ next atomic.Uint64 }

func (b *balancer) pick(eps []endpoint) (endpoint, bool) {
	if len(eps) == 0 {
		return endpoint{}, false
	}
	return eps[int(b.next.Add(1)-1)%len(eps)], true
}

// weighted picks an index by weight (negative weights count as 0); -1
// when all are 0. intN is rand.IntN outside tests.
func weighted(weights []int, intN func(int) int) int {
	total := 0
	for _, w := range weights {
		total += max(w, 0)
	}
	if total == 0 {
		return -1
	}
	n := intN(total)
	for i, w := range weights {
		if n < max(w, 0) {
			return i
		}
		n -= max(w, 0)
	}
	return -1
}
