package testcluster

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
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
