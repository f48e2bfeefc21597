package journal

import (
	"context"
	"errors"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutoverhq/cutover/kube"
)

// ErrForbidden is returned by Homes when the credentials may list a run's
// journal objects in no namespace at once (a Role bound in one namespace,
// as `cutover rbac` writes, may not).
var ErrForbidden = errors.New("listing Secrets and ConfigMaps in all namespaces is forbidden to these credentials")

// Homes names the namespaces holding a journal of runID (its first object,
// in either format), sorted, as far as the credentials may list Secrets or
// ConfigMaps in all namespaces: it is how a command finds a run whose
// namespace it cannot work out (docs/design.md, "Cluster access and
// namespaces"). The selector matches one object per namespace at most.
func Homes(ctx context.Context, c *kube.Clients, runID string) ([]string, error) {
	opts := metav1.ListOptions{LabelSelector: LabelManagedBy + "=cutover," + LabelKind + "=run," + LabelRun + "=" + runID}
	var found []string
	refused := 0
	// skip counts a refused list as one that found nothing.
	skip := func(err error) error {
		if apierrors.IsForbidden(err) {
			refused++
			return nil
		}
		return err
	}
	secrets, err := c.Typed.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, opts)
	if err == nil {
		for _, o := range secrets.Items {
			found = append(found, o.Namespace)
		}
	} else if err := skip(err); err != nil {
		return nil, err
	}
	cms, err := c.Typed.CoreV1().ConfigMaps(metav1.NamespaceAll).List(ctx, opts)
	if err == nil {
		for _, o := range cms.Items {
			found = append(found, o.Namespace)
		}
	} else if err := skip(err); err != nil {
		return nil, err
	}
	if refused == 2 {
		return nil, ErrForbidden
	}
	slices.Sort(found)
	return slices.Compact(found), nil
}
