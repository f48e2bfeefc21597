// Package podnet maps the pod IPs the cluster's API holds to the loopback
// addresses local processes listen on. The apiserver refuses loopback
// addresses in EndpointSlices ("may not be in the loopback range"), so a
// process-backed pod listening on 127.a.b.c has pod IP 10.a.b.c, and the
// data plane dials 127.a.b.c for an endpoint 10.a.b.c (2 ≤ a ≤ 254).
// 127.1.0.0/16 is the data plane's own (service proxies, router); 10.0 and
// 10.1 are not translated (the fake nodes' address is 10.1.0.1). A kwok
// pod's IP (10.244.0.0/16) maps to a loopback address nothing listens on:
// connections to it are refused at once, as to a pod that serves nothing.
// See docs/design.md, "Test cluster data plane".
package podnet

import "net/netip"

// PodIP is the pod IP the API shows for a process listening on local
// (127.a.b.c → 10.a.b.c); other addresses are returned as they are.
func PodIP(local string) string { return swap(local, 127, 10) }

// Local is the address to dial for a pod IP (10.a.b.c → 127.a.b.c); other
// addresses are returned as they are.
func Local(podIP string) string { return swap(podIP, 10, 127) }

func swap(ip string, from, to byte) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return ip
	}
	b := a.As4()
	if b[0] != from || b[1] < 2 || b[1] > 254 {
		return ip
	}
	b[0] = to
	return netip.AddrFrom4(b).String()
}
