package main

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/steps/pause"
)

func cmdApprove(c *cli, args []string) int { return c.answerPause(args, pause.Approve) }
func cmdAbort(c *cli, args []string) int   { return c.answerPause(args, pause.Abort) }

// questionsOf selects the pause questions of a run, or of one of its stages.
func questionsOf(pos []string) metav1.ListOptions {
	sel := pause.RunLabel + "=" + pos[0] + "," + pause.StageLabel
	if len(pos) == 2 {
		sel = pause.RunLabel + "=" + pos[0] + "," + pause.StageLabel + "=" + pause.StageValue(pos[1])
	}
	return metav1.ListOptions{LabelSelector: sel}
}

// answerPause writes the answer into the question of a run's pause stage:
// the one named, or the only one waiting.
func (c *cli) answerPause(args []string, answer string) int {
	o, pos, ok := c.parse(answer, args)
	if !ok {
		return exitInvalid
	}
	if len(pos) < 1 || len(pos) > 2 {
		c.errorf("usage: cutover %s RUN [STAGE]", answer)
		return exitInvalid
	}
	clients, err := c.cluster(o).Clients()
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	ns := namespaceOf(o.namespace, "", clients)
	ctx := context.Background()
	list, err := clients.Typed.CoreV1().ConfigMaps(ns).List(ctx, questionsOf(pos))
	if err != nil {
		c.errorf("%v", err)
		return exitFailed
	}
	if len(list.Items) == 0 && o.namespace == "" {
		// The question lives in the pipeline's namespace, which need not
		// be the kubeconfig's: look everywhere the credentials may.
		if all, err := clients.Typed.CoreV1().ConfigMaps(metav1.NamespaceAll).List(ctx, questionsOf(pos)); err == nil {
			list = all
		}
	}
	var q *corev1.ConfigMap
	switch len(list.Items) {
	case 0:
		c.errorf("run %s has no pause stage waiting in namespace %s (the run prints its namespace: cutover %s %s -n NAMESPACE)", pos[0], ns, answer, pos[0])
		return exitInvalid
	case 1:
		q = &list.Items[0]
	default:
		c.errorf("run %s has %d pause stages waiting; name one: cutover %s %s STAGE", pos[0], len(list.Items), answer, pos[0])
		return exitInvalid
	}
	cms := clients.Typed.CoreV1().ConfigMaps(q.Namespace)
	ns, name := q.Namespace, q.Name
	patch, _ := json.Marshal(map[string]any{"data": map[string]string{pause.AnswerKey: answer, pause.ByKey: c.holder()}})
	if _, err := cms.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		c.errorf("answering %s/%s: %v", ns, name, err)
		return exitFailed
	}
	fmt.Fprintf(c.stdout, "%s: %s\n", name, answer)
	return exitOK
}
