package testcluster

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	watchtools "k8s.io/client-go/tools/watch"
)

// Namespace annotations read by the apiserver's PodNodeSelector and
// PodTolerationRestriction admission plugins: every pod created in the
// namespace gets the node selector and the tolerations.
const (
	annotationNodeSelector       = "scheduler.alpha.kubernetes.io/node-selector"
	annotationDefaultTolerations = "scheduler.alpha.kubernetes.io/defaultTolerations"
)

// ProcessNamespace makes every pod created in namespace ns from now on run
// on the process nodes, as if it carried their nodeSelector and toleration
// (see agent.go): manifests that know nothing of the test cluster, such as
// the ready pipelines', get process pods that serve traffic.
func ProcessNamespace(ctx context.Context, cs kubernetes.Interface, ns string) error {
	tolerations, err := json.Marshal([]corev1.Toleration{{Key: NodeKindLabel, Operator: corev1.TolerationOpEqual,
		Value: NodeKindProcess, Effect: corev1.TaintEffectNoSchedule}})
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		annotationNodeSelector:       NodeKindLabel + "=" + NodeKindProcess,
		annotationDefaultTolerations: string(tolerations),
	}}})
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("testcluster: namespace %s on the process nodes: %w", ns, err)
	}
	return nil
}

// RecreateNamespace deletes namespace ns if it exists, waits until it is
// gone (its pods stopped), and creates it empty.
func RecreateNamespace(ctx context.Context, cs kubernetes.Interface, ns string) error {
	nss := cs.CoreV1().Namespaces()
	err := nss.Delete(ctx, ns, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("testcluster: delete namespace %s: %w", ns, err)
	}
	if err == nil {
		// Watched from the resourceVersion read after the delete, so its
		// removal cannot slip between the read and the watch.
		cur, err := nss.Get(ctx, ns, metav1.GetOptions{})
		if err == nil {
			w, err := nss.Watch(ctx, metav1.ListOptions{ResourceVersion: cur.ResourceVersion,
				FieldSelector: fields.OneTermEqualSelector("metadata.name", ns).String()})
			if err != nil {
				return err
			}
			if _, err := watchtools.UntilWithoutRetry(ctx, w, func(e watch.Event) (bool, error) { return e.Type == watch.Deleted, nil }); err != nil {
				return fmt.Errorf("testcluster: namespace %s not gone: %w", ns, err)
			}
		} else if !apierrors.IsNotFound(err) {
			return err
		}
	}
	if _, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("testcluster: create namespace %s: %w", ns, err)
	}
	return nil
}
