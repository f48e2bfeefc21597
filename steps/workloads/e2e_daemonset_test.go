package workloads

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/steps"
)

const onDeleteAgent = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  updateStrategy:
    type: OnDelete
  template:
    metadata:
      labels: {app: agent}
    spec:
      nodeSelector: {kubernetes.io/hostname: kwok-node-0}
      tolerations: [{operator: Exists}]
      containers:
      - name: agent
        image: agent:v1
`

// update_nodes refuses max_surge because, under OnDelete (which it needs to
// pick nodes), the DaemonSet controller keeps one pod per node: a second
// pod of the DaemonSet on a node, as a surge would start, is deleted. This
// is that controller, on the local control plane.
func TestE2EDaemonSetOnDeleteKeepsOnePodPerNode(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	if _, err := (deployKind{}).Run(ctx, e.env(nil), deployCfg([]string{onDeleteAgent}, nil, nil)); err != nil {
		t.Fatal(err)
	}
	sel := labels.SelectorFromSet(labels.Set{"app": "agent"})
	pods, err := e.c.Typed.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods = %v, %v: want the DaemonSet's one pod", pods, err)
	}
	first := pods.Items[0]
	surge := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "agent-surge-", Labels: first.Labels, OwnerReferences: first.OwnerReferences,
	}, Spec: first.Spec}
	surge.Spec.NodeName = nodeOf(&first)
	_, err = e.c.Typed.CoreV1().Pods(e.ns).Create(ctx, surge, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Which of the two it keeps depends on their creation times, at a
	// second's resolution, then their names: either may go.
	node := nodeOf(&first)
	err = waitPods(ctx, e.c, e.ns, sel, func(seen map[types.UID]*corev1.Pod) (bool, string) {
		live := 0
		for _, p := range seen {
			if nodeOf(p) == node && p.DeletionTimestamp == nil {
				live++
			}
		}
		return live == 1, words.Count(live, "pod") + " of the DaemonSet on " + node
	}, func(m string) { t.Log(m) })
	if err != nil {
		t.Errorf("the DaemonSet controller kept a second pod on %s: %v", node, err)
	}
}

// max_surge is refused at load, at the attribute, with why.
func TestUpdateNodesRefusesMaxSurge(t *testing.T) {
	cfg := steps.FromGo(map[string]any{"daemonset": "agent", "max_surge": 1})
	ps := updateNodesKind{}.Check(cfg)
	if len(ps) != 1 || ps[0].Path[0] != "max_surge" || ps[0].Summary != "update_nodes cannot surge" {
		t.Fatalf("problems = %+v: want one at max_surge", ps)
	}
}
