package workloads

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// rollbackSkipAnnotations are the Deployment's own bookkeeping, which a
// rollback must not copy from the old ReplicaSet (as kubectl rollout undo).
var rollbackSkipAnnotations = map[string]bool{
	revisionAnnotation:                                 true,
	"deployment.kubernetes.io/revision-history":        true,
	"deployment.kubernetes.io/desired-replicas":        true,
	"deployment.kubernetes.io/max-replicas":            true,
	"kubectl.kubernetes.io/last-applied-configuration": true,
}

// rollbackTo puts the pod template of an earlier revision back into d, with
// kubectl rollout undo's semantics: revision 0 means the one before the
// current; a template that already matches is skipped (skipped = true).
// It does the work itself rather than through kubectl's library, whose
// import alone doubles cutover's memory.
func rollbackTo(ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment, to int64, dryRun bool) (skipped bool, err error) {
	if d.Spec.Paused {
		return false, fmt.Errorf("deployment %s/%s is paused; resume it before rolling back", d.Namespace, d.Name)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return false, err
	}
	list, err := cs.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return false, err
	}
	byRevision := map[int64]*appsv1.ReplicaSet{}
	var revisions []int64
	for i := range list.Items {
		rs := &list.Items[i]
		if owner := metav1.GetControllerOf(rs); owner == nil || owner.UID != d.UID {
			continue
		}
		rev, err := strconv.ParseInt(rs.Annotations[revisionAnnotation], 10, 64)
		if err != nil {
			continue
		}
		byRevision[rev] = rs
		revisions = append(revisions, rev)
	}
	sort.Slice(revisions, func(i, j int) bool { return revisions[i] > revisions[j] })
	if to == 0 {
		if len(revisions) < 2 {
			return false, fmt.Errorf("deployment %s/%s has no previous revision to roll back to", d.Namespace, d.Name)
		}
		to = revisions[1]
	}
	rs, ok := byRevision[to]
	if !ok {
		return false, fmt.Errorf("deployment %s/%s has no revision %d in its history (it has %v)", d.Namespace, d.Name, to, revisions)
	}
	tmpl := rs.Spec.Template.DeepCopy()
	delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	if apiequality.Semantic.DeepEqual(tmpl, &d.Spec.Template) {
		return true, nil
	}
	annotations := map[string]string{}
	for k, v := range d.Annotations {
		annotations[k] = v
	}
	for k, v := range rs.Annotations {
		if !rollbackSkipAnnotations[k] {
			annotations[k] = v
		}
	}
	// The resourceVersion makes a concurrent change (the controller's own
	// status updates included) a 409 Conflict the caller re-reads on, rather
	// than a rollback applied on top of something unseen. A JSON patch
	// "test" op would fail as 422 Invalid, which no one can tell from a bad
	// template.
	patch, err := json.Marshal([]map[string]any{
		{"op": "replace", "path": "/metadata/resourceVersion", "value": d.ResourceVersion},
		{"op": "replace", "path": "/spec/template", "value": tmpl},
		{"op": "replace", "path": "/metadata/annotations", "value": annotations},
	})
	if err != nil {
		return false, err
	}
	opts := metav1.PatchOptions{FieldManager: "cutover"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = cs.AppsV1().Deployments(d.Namespace).Patch(ctx, d.Name, types.JSONPatchType, patch, opts)
	return false, err
}
