package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	k8s "github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// clients returns the cluster's clients, or an error saying the command has
// no cluster.
func clients(env *steps.Env, step string) (*k8s.Clients, error) {
	if env == nil || env.Cluster == nil {
		return nil, fmt.Errorf("%s needs a Kubernetes cluster, and this command runs without one", step)
	}
	c, err := env.Cluster.Clients()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", step, err)
	}
	return c, nil
}

// namespace is the step's namespace: its own attribute, else the pipeline's,
// else the kubeconfig's.
func namespace(env *steps.Env, cfg cty.Value, c *k8s.Clients) string {
	if ns := steps.Str(cfg, "namespace"); ns != "" {
		return ns
	}
	if env != nil && env.Namespace != "" {
		return env.Namespace
	}
	return c.Namespace
}

// classify marks transient API errors retryable; everything else is final.
func classify(err error) error {
	if err != nil && k8s.IsTransient(err) {
		return steps.Retryable(err)
	}
	return err
}

// ref resolves a kind as the user wrote it and names the object.
func ref(c *k8s.Clients, kind, ns, name string) (k8s.Ref, error) {
	m, err := k8s.ResolveKind(c.Mapper, kind)
	if err != nil {
		return k8s.Ref{}, classify(err)
	}
	return k8s.RefFor(m, ns, name), nil
}

// objectVal is an object as a cty value (null for nil), for outputs and
// expressions.
func objectVal(u *unstructured.Unstructured) cty.Value {
	if u == nil {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return steps.FromGo(u.Object)
}

// decodeSnapshots reads journaled kube.Snapshot records.
func decodeSnapshots(records []json.RawMessage) ([]k8s.Snapshot, error) {
	out := make([]k8s.Snapshot, 0, len(records))
	for i, r := range records {
		var s k8s.Snapshot
		if err := json.Unmarshal(r, &s); err != nil {
			return nil, fmt.Errorf("undo record %d is not an object snapshot: %w", i+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// oldestFirstReversed keeps, per object, only its oldest snapshot (the state
// before the first attempt; later ones record what earlier attempts wrote)
// and returns them newest first, the order in which undoing them is safe (an
// object created late, inside a namespace created early, goes first).
func oldestFirstReversed(snaps []k8s.Snapshot) []k8s.Snapshot {
	seen := map[k8s.Ref]bool{}
	var keep []k8s.Snapshot
	for _, s := range snaps {
		if !seen[s.Ref] {
			seen[s.Ref] = true
			keep = append(keep, s)
		}
	}
	for i, j := 0, len(keep)-1; i < j; i, j = i+1, j-1 {
		keep[i], keep[j] = keep[j], keep[i]
	}
	return keep
}

// restoreAll restores snapshots newest first and then waits for the
// workloads it put back to roll out. It goes on past a failed restore so one
// stuck object does not leave the others changed, and reports all failures.
func restoreAll(ctx context.Context, env *steps.Env, c *k8s.Clients, records []json.RawMessage) error {
	snaps, err := decodeSnapshots(records)
	if err != nil {
		return err
	}
	var errs []error
	var restored []k8s.Ref
	for _, s := range oldestFirstReversed(snaps) {
		out, err := c.Restore(ctx, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if out != nil && k8s.HasRollout(s.APIVersion, s.Kind) {
			restored = append(restored, s.Ref)
		}
		if s.Existed {
			env.Report("restored " + s.Ref.String())
		} else {
			env.Report("deleted " + s.Ref.String() + ", which did not exist before")
		}
	}
	for _, r := range restored {
		if _, err := c.WaitRollout(ctx, r, env.Report); err != nil {
			errs = append(errs, err)
		}
	}
	return joinClassified(errs)
}

// joinClassified joins errors; the result is retryable only when every one
// of them is (a retry would redo the others' final failures for nothing).
func joinClassified(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	all := true
	for _, e := range errs {
		all = all && k8s.IsTransient(e)
	}
	err := errors.Join(errs...)
	if all {
		return steps.Retryable(err)
	}
	return err
}

// record journals r before a write; without a durable record there is no
// write.
func record(env *steps.Env, r any) error {
	if err := env.Record(r); err != nil {
		return fmt.Errorf("journaling the previous state (nothing was written): %w", err)
	}
	return nil
}
