// Package dataplane gives the test cluster the traffic side of a node: a
// userspace service proxy per Service and one HTTP router for Ingresses
// (with the ingress-nginx canary annotations), Gateway API HTTPRoutes and
// Istio VirtualServices. Both act on the cluster's objects after a
// propagation delay, as kube-proxy and ingress controllers do, so a pod
// removed from its EndpointSlice without a preStop sleep keeps receiving
// connections for that long — the failure a real cluster shows.
//
// Addresses: everything listens on 127.1.0.0/16 (pods use other loopback
// addresses). Each Service gets one address of its own, listening on the
// ports of its spec; the router takes one address, port 80. See
// docs/design.md, "Test cluster data plane".
package dataplane
