package workloads

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// runResource waits, watch-driven, for an object to satisfy the step's
// condition, rollout or until expression, and returns it.
func (waitKind) runResource(ctx context.Context, env *steps.Env, wc waitConfig) (cty.Value, error) {
	c, err := env.Clients("wait")
	if err != nil {
		return cty.NilVal, err
	}
	res := wc.Resource
	r, err := ref(c, res.Kind, env.NamespaceFor(res.Namespace, c), res.Name)
	if err != nil {
		return cty.NilVal, err
	}
	cond, err := waitCondition(env, wc, r)
	if err != nil {
		return cty.NilVal, err
	}
	if env.DryRun {
		// A dry run proves the object can be read (as the stages before
		// leave it), and does not wait: what a wait sees change, a
		// controller does once the writes are real.
		obj, _, err := env.Starting(ctx, c, r)
		if err != nil {
			return cty.NilVal, err
		}
		return cty.NilVal, steps.NotRehearsed(cty.ObjectVal(map[string]cty.Value{"object": objectVal(obj)}),
			"not waiting for "+r.String()+": what it waits for happens once the writes are real")
	}
	var obj *unstructured.Unstructured
	if wc.Rollout != nil && *wc.Rollout && (wc.Condition == nil || *wc.Condition == "") {
		// With the pods that do not get ready named, and a timeout
		// that is not retried (kube.WaitRollout).
		obj, err = c.WaitRollout(ctx, r, env.Report)
	} else {
		obj, err = c.WaitFor(ctx, r, cond, env.Report)
	}
	if err != nil {
		return cty.NilVal, steps.APIError(err)
	}
	return cty.ObjectVal(map[string]cty.Value{"object": objectVal(obj)}), nil
}

// waitCondition builds the Condition the step's attributes describe. A
// missing object is always "keep waiting": it may be about to be created.
func waitCondition(env *steps.Env, wc waitConfig, r kube.Ref) (kube.Condition, error) {
	absent := func() (bool, string, error) {
		return false, r.Short() + " does not exist yet; waiting for it to be created", nil
	}
	switch {
	case wc.Condition != nil && *wc.Condition != "":
		typ, status, err := parseCondition(*wc.Condition)
		if err != nil {
			return nil, err
		}
		return func(obj *unstructured.Unstructured) (bool, string, error) {
			if obj == nil {
				return absent()
			}
			got, reason := conditionStatus(obj, typ)
			if strings.EqualFold(got, status) {
				return true, fmt.Sprintf("%s: %s is %s", r.Short(), typ, got), nil
			}
			if got == "" {
				return false, fmt.Sprintf("%s: no %s condition yet (want %s)", r.Short(), typ, status), nil
			}
			return false, fmt.Sprintf("%s: %s is %s%s (want %s)", r.Short(), typ, got, reason, status), nil
		}, nil
	case wc.Rollout != nil && *wc.Rollout:
		if !kube.HasRollout(r.APIVersion, r.Kind) {
			return nil, fmt.Errorf("rollout = true needs a Deployment, StatefulSet, DaemonSet or ReplicaSet; %s is a %s", r, r.Kind)
		}
		return func(obj *unstructured.Unstructured) (bool, string, error) {
			if obj == nil {
				return absent()
			}
			return kube.RolloutStatus(obj)
		}, nil
	case !wc.Until.IsNull():
		expr, err := untilExpr(env)
		if err != nil {
			return nil, err
		}
		return func(obj *unstructured.Unstructured) (bool, string, error) {
			if obj == nil {
				return absent()
			}
			return evalUntil(env, expr, r, obj)
		}, nil
	}
	return nil, fmt.Errorf("wait on %s: set one of condition, rollout = true or until", r)
}

// parseCondition reads "Available" (meaning True) or "Available=False".
func parseCondition(s string) (typ, status string, err error) {
	typ, status, hasStatus := strings.Cut(strings.TrimSpace(s), "=")
	typ, status = strings.TrimSpace(typ), strings.TrimSpace(status)
	if !hasStatus {
		status = "True"
	}
	if typ == "" {
		return "", "", fmt.Errorf("condition %q has no type; write a condition type such as \"Available\" or \"Ready=False\"", s)
	}
	switch strings.ToLower(status) {
	case "true":
		status = "True"
	case "false":
		status = "False"
	case "unknown":
		status = "Unknown"
	default:
		return "", "", fmt.Errorf("condition %q: status must be True, False or Unknown, not %q", s, status)
	}
	return typ, status, nil
}

// conditionStatus is the status of condition typ in status.conditions ("" when
// absent) and ", reason R: message" for messages.
func conditionStatus(obj *unstructured.Unstructured, typ string) (string, string) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || !strings.EqualFold(fmt.Sprint(m["type"]), typ) {
			continue
		}
		status, _ := m["status"].(string)
		why := ""
		if r, _ := m["reason"].(string); r != "" {
			why = " (" + r
			if msg, _ := m["message"].(string); msg != "" {
				why += ": " + msg
			}
			why += ")"
		}
		return status, why
	}
	return "", ""
}

// untilExpr finds the until expression in the step body; it is evaluated
// anew for every state of the object.
func untilExpr(env *steps.Env) (hcl.Expression, error) {
	if env == nil || env.Body == nil {
		return nil, fmt.Errorf("wait: until needs the step body to re-evaluate, and the engine gave none")
	}
	content, _, diags := env.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "until"}}})
	if diags.HasErrors() {
		return nil, fmt.Errorf("wait: reading until: %s", diags.Error())
	}
	a, ok := content.Attributes["until"]
	if !ok {
		return nil, fmt.Errorf("wait: until is not in the step body")
	}
	return a.Expr, nil
}

// evalUntil evaluates until with `object` bound. An expression that cannot be
// evaluated yet (it reads status.readyReplicas before the controller wrote
// it) means "not yet", and the error is shown as the progress message so a
// typo is visible while waiting.
func evalUntil(env *steps.Env, expr hcl.Expression, r kube.Ref, obj *unstructured.Unstructured) (bool, string, error) {
	var ctx *hcl.EvalContext
	if env.EvalContext != nil {
		ctx = env.EvalContext.NewChild()
	} else {
		ctx = &hcl.EvalContext{}
	}
	ctx.Variables = map[string]cty.Value{"object": objectVal(obj)}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return false, fmt.Sprintf("%s: until cannot be evaluated yet: %s", r.Short(), diags.Error()), nil
	}
	if v.IsNull() || !v.IsKnown() {
		return false, fmt.Sprintf("%s: until is not known yet", r.Short()), nil
	}
	b, err := convert.Convert(v, cty.Bool)
	if err != nil {
		return false, "", fmt.Errorf("wait on %s: until must be true or false, got %s", r, v.Type().FriendlyName())
	}
	if b.True() {
		return true, r.Short() + ": until is true", nil
	}
	return false, r.Short() + ": until is false", nil
}
