// Package lint finds manifest settings that break zero-downtime releases:
// pods that take traffic before they can serve it, pods killed while a
// Service still sends them requests, rolling updates that remove every
// replica at once, and Service selectors that span both colours of a
// blue/green pair.
//
// It backs the `cutover lint MANIFEST|DIR|-…` command (Read, Lint, Format) and
// the `lint` step kind. Findings point at the YAML node at fault (the
// container, the field, or the object's `kind:` line when a field is
// missing), so they read like compiler diagnostics.
//
// Rule ids are stable; pipelines name them in `ignore`, and an object can
// opt out with the annotation `lint.cutover.dev/ignore: "rule-a,rule-b"`.
//
//	parse                   error    a document is not valid YAML
//	readiness-probe         error    a container of a workload a Service selects has no readinessProbe
//	                        warning  same, for a workload no Service in the manifests selects
//	                                 but whose containers declare a port (its Service may be
//	                                 elsewhere); none for one that neither (a worker, a load
//	                                 generator); a port-less sidecar is exempt when another
//	                                 container has a probe
//	prestop-hook            warning  a pod template a Service selects has no preStop hook
//	grace-period            error    terminationGracePeriodSeconds (default 30) is not above the
//	                                 preStop sleep ("sleep N" in an exec command, or sleep.seconds)
//	max-unavailable         error    a rolling update may take down every replica at once
//	                                 (maxUnavailable >= replicas, 100%, or rounding that gets there)
//	rolling-update-invalid  error    maxSurge and maxUnavailable are both 0 (the API rejects it)
//	single-replica          warning  a workload runs one replica (replicas: 1 or unset, or an HPA
//	                                 with minReplicas 1): any restart is an outage
//	selector-matches-many   error    a Service selector matches the pod templates of two or more
//	                                 workloads, e.g. app=web over web-blue and web-green
package lint
