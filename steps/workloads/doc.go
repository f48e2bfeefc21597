// Package workloads holds the workload step kinds: deploy, wait, scale, partition
// (a StatefulSet's), update_nodes (a DaemonSet's, by node), rollback, patch
// and delete. Each kind lives in a file of its own and registers itself
// with steps.Default in init, so importing the package for its side effects
// is enough for the engine to know them.
//
// The Kubernetes plumbing they share (kind resolution, snapshots and
// restores, server-side apply, rollout status, watch-driven waits) lives in
// the top-level kube package so other step packages can reuse it.
package workloads
