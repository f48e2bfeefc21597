package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutoverhq/cutover/kube"
)

// A run's --dry-run=server is a rehearsal (docs/design.md, "Dry runs"):
// every write is a server-side dry run, and a stage reads what the dry runs
// of the stages before it leave (Env.Planned, as plan --dry-run=server
// does), so a first release's switch rehearses on the Service its service
// stage would create. What exists only once writes are real (pods, a
// rollout, a measurement, a person's answer) is not rehearsed, and the
// stage says so with NotRehearsed.

// NotRehearsedError ends a dry run's stage whose work cannot be rehearsed:
// what it checks or waits for exists only once the writes are real. The
// engine ends the stage skipped, not failed (the release it checks does not
// exist) nor succeeded (nothing was checked), its reason the error's text,
// and Output as its output for the stages after it.
type NotRehearsedError struct {
	Why    string
	Output cty.Value
}

func (e *NotRehearsedError) Error() string { return "dry run: not rehearsed: " + e.Why }

// NotRehearsed is the error a kind's Run returns, in a dry run, for work it
// cannot rehearse, with the output the stages after it read.
func NotRehearsed(out cty.Value, why string) error {
	return &NotRehearsedError{Why: why, Output: out}
}

// AsNotRehearsed finds a NotRehearsedError in err's chain.
func AsNotRehearsed(err error) (*NotRehearsedError, bool) {
	var nr *NotRehearsedError
	ok := errors.As(err, &nr)
	return nr, ok
}

// Starting is r as this stage starts from it: as the dry runs of the stages
// before it leave it (Planned, in a dry run or a plan; planned is true, and
// obj a copy the kind may change), else live; nil when neither has it.
func (e *Env) Starting(ctx context.Context, c *kube.Clients, r kube.Ref) (obj *unstructured.Unstructured, planned bool, err error) {
	if o, ok := e.Planned.Object(r); ok {
		return o.DeepCopy(), true, nil
	}
	live, err := c.Get(ctx, r)
	if err != nil {
		return nil, false, APIError(err)
	}
	return live, false, nil
}

// StartingPlanned is Starting for a kind that rehearses its change only
// on an object the stages before it write: nil when they do not (the dry
// run of the live one's change follows), with Unfollowed's error when
// neither they nor the cluster have it.
func (e *Env) StartingPlanned(ctx context.Context, c *kube.Clients, r kube.Ref) (*unstructured.Unstructured, error) {
	obj, planned, err := e.Starting(ctx, c, r)
	switch {
	case err != nil:
		return nil, err
	case obj == nil:
		return nil, e.Unfollowed(r)
	case !planned:
		return nil, nil
	}
	return obj, nil
}

// Rehearse sends next, the object r as this stage of a dry run leaves it
// (its kind's change to what Starting gave, planned), as a server-side
// dry-run apply: the API server validates and defaults it, and its answer
// is what the stages after this one read (Planned). The request the run
// sends (a patch, the scale subresource) would find nothing when an
// earlier stage creates the object, and would start from the live object
// rather than from what the earlier stages leave when one changes it.
func (e *Env) Rehearse(ctx context.Context, c *kube.Clients, r kube.Ref, next *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	obj := kube.Clean(next)
	if obj.GetAPIVersion() == "" || obj.GetKind() == "" {
		// A typed client's answer carries no type.
		obj.SetAPIVersion(r.APIVersion)
		obj.SetKind(r.Kind)
	}
	if obj.GetKind() == "Service" {
		// What the earlier dry run allocated is a placeholder that no
		// request may give back (10.96.0.0 is the range's own address).
		unstructured.RemoveNestedField(obj.Object, "spec", "clusterIP")
		unstructured.RemoveNestedField(obj.Object, "spec", "clusterIPs")
	}
	after, err := c.Apply(ctx, r, obj, true)
	if err != nil {
		return nil, APIError(fmt.Errorf("%w (the dry run of the object as this stage leaves it)", err))
	}
	e.Planned.Leave(r, after)
	return after, nil
}

// Unfollowed is, in a dry run, why r cannot be rehearsed when neither the
// stages before this one left it nor the cluster has it: an earlier stage
// whose changes the rehearsal could not follow (Planned.KnownAfter) may
// create it. nil when none may: the kind fails as the run would.
func (e *Env) Unfollowed(r kube.Ref) error {
	if after := e.Planned.KnownAfter(r); len(after) > 0 {
		return NotRehearsed(cty.NilVal, fmt.Sprintf("%s is known after %s, whose changes the dry run could not follow", r, strings.Join(after, ", ")))
	}
	return nil
}
