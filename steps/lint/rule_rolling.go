package lint

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// rolling is a workload's rolling-update settings, read the way the
// controllers read them.
type rolling struct {
	o                    *object
	field                string     // "strategy" or "updateStrategy"
	surgeKey, unavailKey *yaml.Node // nil when unset
	surge, unavail       *yaml.Node
	// The controller's defaults; surgeDefault is "" for kinds without
	// surge (StatefulSet).
	surgeDefault, unavailDefault string
	replicas                     int64  // -1 when the kind has no replica count (DaemonSet)
	replicasFrom                 string // what set replicas, for messages
}

// rollingOf returns the rolling update of a Deployment, StatefulSet or
// DaemonSet; nil for other kinds and for non-rolling strategies (Recreate,
// OnDelete).
func (s *set) rollingOf(o *object) *rolling {
	r := &rolling{o: o, replicas: -1}
	switch o.kind {
	case "Deployment":
		r.field, r.surgeDefault, r.unavailDefault = "strategy", "25%", "25%"
	case "StatefulSet":
		r.field, r.unavailDefault = "updateStrategy", "1"
	case "DaemonSet":
		r.field, r.surgeDefault, r.unavailDefault = "updateStrategy", "0", "1"
	default:
		return nil
	}
	strategy := path(o.node, "spec", r.field)
	if t := str(path(strategy, "type")); t != "" && t != "RollingUpdate" {
		return nil
	}
	ru := path(strategy, "rollingUpdate")
	r.unavailKey, r.unavail = field(ru, "maxUnavailable")
	if r.surgeDefault != "" {
		r.surgeKey, r.surge = field(ru, "maxSurge")
	}
	if o.kind != "DaemonSet" {
		r.replicas, r.replicasFrom = s.minReplicas(o)
	}
	return r
}

// minReplicas is the fewest replicas the workload may run: spec.replicas
// (default 1), or minReplicas (default 1) of an HPA that scales it.
func (s *set) minReplicas(o *object) (n int64, from string) {
	if h := s.hpaOf[o]; h != nil {
		if n, ok := integer(path(h.node, "spec", "minReplicas")); ok {
			return n, fmt.Sprintf("HorizontalPodAutoscaler %q minReplicas: %d", h.name, n)
		}
		return 1, fmt.Sprintf("HorizontalPodAutoscaler %q minReplicas unset, default 1", h.name)
	}
	if n, ok := integer(path(o.node, "spec", "replicas")); ok {
		return n, fmt.Sprintf("replicas: %d", n)
	}
	return 1, "replicas unset, default 1"
}

// intOrPercent reads a value such as 2 or "25%"; raw is what to print.
func intOrPercent(n *yaml.Node, def string) (val float64, pct bool, raw string, ok bool) {
	raw = def
	if n != nil {
		raw = str(n)
	}
	if p, isPct := strings.CutSuffix(raw, "%"); isPct {
		f, err := strconv.ParseFloat(p, 64)
		return f, true, raw, err == nil
	}
	i, err := strconv.ParseInt(raw, 10, 64)
	return float64(i), false, raw, err == nil
}

// scaled resolves an int-or-percent against replicas the way the
// Deployment controller does: surge rounds up, unavailability down.
func scaled(v float64, pct bool, replicas int64, roundUp bool) int64 {
	if !pct {
		return int64(v)
	}
	x := v * float64(replicas) / 100
	if roundUp {
		return int64(math.Ceil(x))
	}
	return int64(math.Floor(x))
}

// blame is where a rolling-update finding points: the field at fault when
// it is written down, else the strategy, else the kind: line.
func (r *rolling) blame(keys ...*yaml.Node) *yaml.Node {
	for _, k := range keys {
		if k != nil {
			return k
		}
	}
	return keyOf(r.o.node, "spec", r.field)
}
