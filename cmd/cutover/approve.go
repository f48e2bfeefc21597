package main

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/steps/pause"
)

func cmdApprove(c *cli, args []string) int { return c.answerPause(args, pause.Approve) }
func cmdAbort(c *cli, args []string) int   { return c.answerPause(args, pause.Abort) }

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
	ns := o.namespace
	if ns == "" {
		ns = clients.Namespace
	}
	ctx := context.Background()
	cms := clients.Typed.CoreV1().ConfigMaps(ns)
	var name string
	if len(pos) == 2 {
		name = pause.Name(pos[0], pos[1])
	} else {
		list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: pause.RunLabel + "=" + pos[0] + "," + pause.StageLabel})
		if err != nil {
			c.errorf("%v", err)
			return exitFailed
		}
		switch len(list.Items) {
		case 0:
			c.errorf("run %s has no pause stage waiting in namespace %s", pos[0], ns)
			return exitInvalid
		case 1:
			name = list.Items[0].Name
		default:
			c.errorf("run %s has %d pause stages waiting; name one: cutover %s %s STAGE", pos[0], len(list.Items), answer, pos[0])
			return exitInvalid
		}
	}
	patch, _ := json.Marshal(map[string]any{"data": map[string]string{pause.AnswerKey: answer, pause.ByKey: c.holder()}})
	if _, err := cms.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		c.errorf("answering %s/%s: %v", ns, name, err)
		return exitFailed
	}
	fmt.Fprintf(c.stdout, "%s: %s\n", name, answer)
	return exitOK
}
