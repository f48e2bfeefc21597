package lint

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/cutoverhq/cutover/internal/defaults"
)

// defaultGrace is the pod's terminationGracePeriodSeconds when unset.
const defaultGrace = int64(defaults.TerminationGrace / time.Second)

// checkGracePeriod: the grace period counts from the start of the preStop
// hook, not from its end. When the hook sleeps as long as the grace period
// or longer, the kubelet kills the container before the hook returns, so
// the app never gets its SIGTERM and in-flight requests are cut off.
func checkGracePeriod(s *set) []Finding {
	var out []Finding
	for _, w := range s.objs {
		if w.template == nil {
			continue
		}
		graceKey := keyOf(w.template.spec, "terminationGracePeriodSeconds")
		grace, set := integer(path(w.template.spec, "terminationGracePeriodSeconds"))
		if !set {
			grace = defaultGrace
		}
		for _, c := range w.template.containers {
			sleep, ok := preStopSleep(c)
			if !ok || sleep < float64(grace) {
				continue
			}
			at, gs := graceKey, fmt.Sprintf("terminationGracePeriodSeconds is %d", grace)
			if !set {
				// Point at the hook: the fix may be either line, and the
				// missing field has no line of its own.
				at, gs = keyOf(c, "lifecycle", "preStop"), fmt.Sprintf("terminationGracePeriodSeconds is unset (default %d)", defaultGrace)
			}
			out = append(out, w.at(at, "grace-period", SevError,
				fmt.Sprintf("container %q of %s sleeps %s in its preStop hook but %s; the container is killed before the hook ends and before it can finish in-flight requests",
					str(path(c, "name")), w.where(), seconds(sleep), gs),
				fmt.Sprintf("set terminationGracePeriodSeconds above the preStop sleep plus the app's own shutdown time, e.g. %s", suggestGrace(sleep))))
		}
	}
	return out
}

func seconds(f float64) string {
	if math.IsInf(f, 1) {
		return "forever"
	}
	return strconv.FormatFloat(f, 'f', -1, 64) + "s"
}

func suggestGrace(sleep float64) string {
	if math.IsInf(sleep, 1) {
		return "a finite preStop sleep and a grace period above it"
	}
	return strconv.Itoa(int(math.Ceil(sleep)) + 20)
}
