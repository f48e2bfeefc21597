// Package route holds the step kinds that move traffic between versions of
// an application without touching the workloads themselves:
//
//   - switch_selector: merges labels into Services' spec.selector (blue/green
//     by Service) and waits until the EndpointSlices follow;
//   - switch_backend: points an Ingress's backends at another Service
//     (blue/green by Ingress);
//   - label: adds or removes labels on a ReplicaSet and its pods, a
//     workload's pod template or pods (red/black);
//   - traffic: canary weights and header/cookie matches for ingress-nginx,
//     the Gateway API (HTTPRoute) and Istio (VirtualService).
//
// Every kind journals the state it is about to change with env.Record before
// it writes, and its built-in Undo puts that state back exactly. Undo applies
// the records newest first; since every record is a full snapshot of what a
// write touched, the oldest record of an object decides what comes back, so
// the state from before the first attempt is restored even when several
// attempts wrote.
//
// Importing the package for its side effects registers the kinds with
// steps.Default.
package route
