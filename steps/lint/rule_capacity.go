package lint

import "fmt"

// checkMaxUnavailable: a rolling update is meant to keep serving while it
// replaces pods. When maxUnavailable reaches the replica count (directly,
// as 100%, or because maxSurge 0 forces the controller to allow one
// unavailable pod out of one), every old pod may go before a new one is
// ready: an outage on each release.
func checkMaxUnavailable(s *set) []Finding {
	var out []Finding
	for _, o := range s.objs {
		r := s.rollingOf(o)
		if r == nil || (o.kind == "StatefulSet" && r.unavail == nil) {
			// A StatefulSet replaces one pod at a time by default, which
			// only drops all capacity at one replica: single-replica's case.
			continue
		}
		u, upct, uraw, ok := intOrPercent(r.unavail, r.unavailDefault)
		if !ok {
			continue // the API server rejects it; not ours to parse
		}
		if upct && u >= 100 {
			out = append(out, o.at(r.blame(r.unavailKey), "max-unavailable", SevError,
				fmt.Sprintf("maxUnavailable %s of %s lets the rolling update take down every pod at once", uraw, o.where()),
				"use a share that leaves serving pods, e.g. maxUnavailable: 0 with maxSurge: 1 (or 25%)"))
			continue
		}
		if r.replicas <= 0 {
			continue // no replica count (DaemonSet) or scaled to zero on purpose
		}
		unavail := scaled(u, upct, r.replicas, false)
		surge := int64(0)
		sraw := ""
		if r.surgeDefault != "" {
			sv, spct, raw, ok := intOrPercent(r.surge, r.surgeDefault)
			if !ok {
				continue
			}
			surge, sraw = scaled(sv, spct, r.replicas, true), raw
		}
		blame := r.blame(r.unavailKey, r.surgeKey)
		why := fmt.Sprintf("maxUnavailable %s resolves to %d", uraw, unavail)
		if surge == 0 && unavail == 0 && r.surgeDefault != "" {
			// The controller never lets both be zero; it allows one
			// unavailable pod instead.
			unavail = 1
			why = fmt.Sprintf("with maxSurge %s and maxUnavailable %s both resolving to 0 the controller allows 1 unavailable pod", sraw, uraw)
			blame = r.blame(r.surgeKey, r.unavailKey)
		}
		if unavail >= r.replicas {
			out = append(out, o.at(blame, "max-unavailable", SevError,
				fmt.Sprintf("the rolling update of %s may take down all %d of its pods at once: %s (%s)", o.where(), r.replicas, why, r.replicasFrom),
				"keep capacity during the update: maxUnavailable: 0 with maxSurge: 1 (or 25%), and more than one replica"))
		}
	}
	return out
}

// checkRollingInvalid: maxSurge 0 together with maxUnavailable 0 gives the
// controller no way to make progress; the API server refuses the object,
// which the pipeline would only learn at deploy time.
func checkRollingInvalid(s *set) []Finding {
	var out []Finding
	for _, o := range s.objs {
		r := s.rollingOf(o)
		if r == nil || r.surgeDefault == "" {
			continue
		}
		sv, _, sraw, ok1 := intOrPercent(r.surge, r.surgeDefault)
		uv, _, uraw, ok2 := intOrPercent(r.unavail, r.unavailDefault)
		if !ok1 || !ok2 || sv != 0 || uv != 0 {
			continue
		}
		out = append(out, o.at(r.blame(r.unavailKey, r.surgeKey), "rolling-update-invalid", SevError,
			fmt.Sprintf("%s sets maxSurge %s and maxUnavailable %s; one of them must be above 0, and the API server rejects the object", o.where(), sraw, uraw),
			"for zero downtime set maxSurge: 1 (or 25%) and keep maxUnavailable: 0"))
	}
	return out
}

// checkSingleReplica: with one pod, every node drain, eviction or crash is
// an outage, and a StatefulSet or a Deployment with maxSurge 0 stops it on
// each release too.
func checkSingleReplica(s *set) []Finding {
	var out []Finding
	for _, o := range s.objs {
		switch o.kind {
		case "Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "Rollout":
		default:
			continue
		}
		n, from := s.minReplicas(o)
		if n != 1 {
			continue // 0 is scaled down on purpose
		}
		// The finding belongs where the count is written: the HPA when one
		// scales the workload, else the workload's replicas (or kind: line).
		owner, at := o, keyOf(o.node, "spec", "replicas")
		if h := s.hpaOf[o]; h != nil {
			owner, at = h, keyOf(h.node, "spec", "minReplicas")
		}
		out = append(out, owner.at(at, "single-replica", SevWarning,
			fmt.Sprintf("%s runs a single replica (%s); a restart, eviction or node drain takes it offline", o.where(), from),
			"run at least 2 replicas (and a PodDisruptionBudget) for a service that must stay up"))
	}
	return out
}
