package kube

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FieldManager is the name cutover's writes are recorded under in
// managedFields, so `kubectl` users can see which fields a release owns.
const FieldManager = "cutover"

// DryRunAll is the DryRun option value of a server-side dry run.
var DryRunAll = []string{metav1.DryRunAll}

// Apply server-side applies obj at r with force, so cutover takes over fields
// another manager set (a release is the authority on what it ships). With
// dryRun the server validates and defaults but persists nothing.
func (c *Clients) Apply(ctx context.Context, r Ref, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if dryRun {
		opts.DryRun = DryRunAll
	}
	out, err := c.Resource(r).Apply(ctx, r.Name, obj, opts)
	if err != nil {
		return nil, fmt.Errorf("applying %s: %w", r, err)
	}
	return out, nil
}
