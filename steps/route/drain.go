package route

import (
	"time"

	"github.com/cutoverhq/cutover/internal/defaults"
)

// Drain is the drain_delay attribute of every kind that moves clients
// between pods (switch_selector, switch_backend, traffic). The data plane
// acts on the API seconds later, so the step tells the run through
// steps.Env.TrafficMoved, after its write and after its undo's, and the
// engine holds what would take those pods away until then
// (docs/design.md, "Draining").
type Drain struct {
	DrainDelay time.Duration `hcl:"drain_delay"`
}

func newDrain() Drain { return Drain{DrainDelay: defaults.DrainDelay} }

const drainDoc = "How long the data plane (kube-proxy, the ingress controller, the mesh) is given to follow this " +
	"step's change, and its undo's, before the run takes away the pods clients reached: the stages after it that " +
	"write, and in an undo the compensations that delete or scale down, wait until then (default 5s; \"0s\": no wait)."
