package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/lock"
	"github.com/cutoverhq/cutover/steps/pause"
)

func cmdApprove(c *cli, args []string) int { return c.answerPause(args, pause.Approve) }
func cmdAbort(c *cli, args []string) int   { return c.answerPause(args, pause.Abort) }

// questionsOf selects the pause questions of a run.
func questionsOf(runID string) metav1.ListOptions {
	return metav1.ListOptions{LabelSelector: pause.RunLabel + "=" + runID + "," + pause.StageLabel}
}

// answerPause writes the answer into the question of a run's pause stage:
// the one named, or the only one waiting. Anything that cannot be answered
// (a stage that does not wait, a run that is over, a question already
// answered) is exit 2 and says why: nothing is written.
func (c *cli) answerPause(args []string, answer string) int {
	o, pos, ok := c.parse(answer, args)
	if !ok {
		return exitInvalid
	}
	pos, path := pipelineArg(pos)
	if len(pos) < 1 || len(pos) > 2 {
		c.errorf("usage: cutover %s RUN [STAGE] [PATH]", answer)
		return exitInvalid
	}
	runID := pos[0]
	// fleet: the pipeline with targets whose share the question is in.
	var fleet *engine.Program
	if path != "" || o.target != "" {
		// A run with targets: the question is in one target's cluster.
		to, p, code := c.pauseTarget(runID, path, answer, o)
		if to == nil {
			return code
		}
		o, fleet = to, p
	}
	if len(pos) == 2 && len(validation.IsValidLabelValue(pause.StageValue(pos[1]))) > 0 {
		// No question can carry it: a List by it would be refused.
		c.errorf("run %s has no pause stage %q: that is not a stage name cutover can wait on", runID, pos[1])
		return exitInvalid
	}
	clients, err := c.cluster(o).Clients()
	if err != nil {
		c.errorf("%v", err)
		return exitOf(err)
	}
	ctx := context.Background()
	list, ns, err := findQuestions(ctx, clients, runID, answer, o)
	if err != nil {
		c.errorf("%v", err)
		return exitOf(err)
	}
	// A question outlives a run killed while it waited: answering it
	// would tell nobody. The run's journal says whether it is over.
	if why := c.runOver(clients, ns, runID, fleet, o); why != "" {
		c.errorf("run %s %s: nothing waits for an answer%s; nothing was written", runID, why, c.answeredBefore(clients, ns, runID, pos[1:], o))
		return exitInvalid
	}
	var waiting []string
	var q *corev1.ConfigMap
	for i := range list.Items {
		item := &list.Items[i]
		stage := item.Data["stage"]
		waiting = append(waiting, stage)
		if len(pos) == 2 && item.Labels[pause.StageLabel] == pause.StageValue(pos[1]) {
			q = item
		}
	}
	switch {
	case len(waiting) == 0:
		if before := c.answeredBefore(clients, ns, runID, pos[1:], o); before != "" {
			c.errorf("run %s has no pause stage waiting in namespace %s%s; nothing was written", runID, ns, before)
			return exitInvalid
		}
		if why := c.notAsked(clients, ns, runID, pos[1:], answer, fleet, o); why != "" {
			c.errorf("%s; nothing was written", why)
			return exitInvalid
		}
		c.errorf("run %s has no pause stage waiting in namespace %s (the run prints its namespace: cutover %s %s -n NAMESPACE; a question answered is removed as its stage goes on: cutover status %s shows it)", runID, ns, answer, runID, runID)
		return exitInvalid
	case len(pos) == 2 && q == nil:
		c.errorf("run %s has no pause stage %q waiting; %s: %s", runID, pos[1],
			words.Count(len(waiting), "stage")+" "+waitVerb(len(waiting))+" ("+strings.Join(waiting, ", ")+")", pause.Command(answer, runID, waiting[0], ns))
		return exitInvalid
	case q == nil && len(waiting) > 1:
		cmds := make([]string, len(waiting))
		for i, st := range waiting {
			cmds[i] = answerCommand(fleet, answer, runID, st, o.target, ns)
		}
		c.errorf("run %s has %d pause stages waiting (%s); name one: %s", runID, len(waiting), strings.Join(waiting, ", "), strings.Join(cmds, ", or "))
		return exitInvalid
	case q == nil:
		q = &list.Items[0]
	}
	if prev := q.Data[pause.AnswerKey]; prev != "" {
		c.errorf("stage %s of run %s was already answered %q by %s; nothing was written", q.Data["stage"], runID, prev, q.Data[pause.ByKey])
		return exitInvalid
	}
	cms := clients.Typed.CoreV1().ConfigMaps(q.Namespace)
	patch, _ := json.Marshal(map[string]any{
		// The resourceVersion makes the write conditional: two people
		// answering at once, the second is refused rather than overwriting.
		"metadata": map[string]any{"resourceVersion": q.ResourceVersion},
		"data":     map[string]string{pause.AnswerKey: answer, pause.ByKey: c.holder()},
	})
	if _, err := cms.Patch(ctx, q.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			c.errorf("stage %s of run %s was answered, or stopped waiting, while this answer was on its way: nothing was written (cutover status %s)", q.Data["stage"], runID, runID)
			return exitInvalid
		}
		if apierrors.IsForbidden(err) {
			c.errorf("the question of stage %s of run %s is in namespace %s, and answering it there is forbidden to these credentials (%v): answering needs the verb patch on configmaps in namespace %s",
				q.Data["stage"], runID, q.Namespace, err, q.Namespace)
			return exitFailed
		}
		c.errorf("answering %s/%s: %v", q.Namespace, q.Name, err)
		return exitFailed
	}
	if o.output == "json" {
		c.printJSON(answered(q.Namespace, q.Name, q.Data["stage"], answer))
		return exitOK
	}
	// The stage and its question, as the person answering knows them.
	done := map[string]string{pause.Approve: "approved", pause.Abort: "aborted"}[answer]
	fmt.Fprintf(c.stdout, "%s stage %s of run %s%s\n", done, q.Data["stage"], runID, questionSuffix(q.Data["message"]))
	return exitOK
}

func questionSuffix(message string) string {
	if message == "" {
		return ""
	}
	return ": " + message
}

// waitingView is a pause stage of a run waiting for its answer, as status
// RUN shows it (docs/events.md, "status and history").
type waitingView struct {
	Stage   string `json:"stage"`
	Message string `json:"message,omitempty"`
	Approve string `json:"approve"`
	Abort   string `json:"abort"`
}

// answerCommand is the command that answers stage of run runID, waiting
// in namespace ns. A share of a run with targets is answered in its own
// cluster, which the kubeconfig's current context need not be: with its
// pipeline known, the command names it and the target (Program.Command,
// docs/language.md, "Targets and waves"); else it is the question's own,
// for the cluster the question was found in.
func answerCommand(p *engine.Program, answer, runID, stage, target, ns string) string {
	if p != nil && target != "" {
		return p.Command(answer, []string{runID, stage}, target, ns)
	}
	return pause.Command(answer, runID, stage, ns)
}

// waitingFor lists the pause stages of a run that wait for an answer, with
// the commands that give it. A list that fails says nothing: status shows
// the journal, which it could read.
func waitingFor(clients *kube.Clients, ns, runID string) []waitingView {
	list, err := clients.Typed.CoreV1().ConfigMaps(ns).List(context.Background(), questionsOf(runID))
	if err != nil {
		return nil
	}
	var out []waitingView
	for _, q := range list.Items {
		if q.Data[pause.AnswerKey] != "" {
			continue
		}
		stage := q.Data["stage"]
		out = append(out, waitingView{Stage: stage, Message: q.Data["message"],
			Approve: pause.Command(pause.Approve, runID, stage, q.Namespace), Abort: pause.Command(pause.Abort, runID, stage, q.Namespace)})
	}
	return out
}

// findQuestions lists the pause questions of run runID and says the
// namespace they are in: with --namespace, there; else in the kubeconfig's
// namespace, then in every namespace the credentials may list (a question
// is in the run's namespace, which need not be the reader's). A refusal
// is said with where the question may be and what answering needs, rather
// than "nothing waits": a Role bound in one namespace (as `cutover rbac`
// writes) may not list in another, nor in all.
func findQuestions(ctx context.Context, clients *kube.Clients, runID, answer string, o *options) (*corev1.ConfigMapList, string, error) {
	const needs = "answering needs the verbs list and patch on configmaps"
	cms := clients.Typed.CoreV1().ConfigMaps
	if o.namespace != "" {
		list, err := cms(o.namespace).List(ctx, questionsOf(runID))
		if err == nil && len(list.Items) == 0 {
			// A mistyped -n is said as such, not as nothing waiting there.
			if nsErr := clients.CheckNamespace(ctx, o.namespace); nsErr != nil {
				return nil, o.namespace, nsErr
			}
		}
		if apierrors.IsForbidden(err) {
			err = fmt.Errorf("run %s: its pause question would be in namespace %s (--namespace), and listing configmaps there is forbidden to these credentials (%v): %s in namespace %s",
				runID, o.namespace, err, needs, o.namespace)
		}
		return list, o.namespace, err
	}
	ns := kube.NamespaceOf(clients)
	list, err := cms(ns).List(ctx, questionsOf(runID))
	switch {
	case err == nil && len(list.Items) > 0:
		return list, ns, nil
	case err != nil && !apierrors.IsForbidden(err):
		return nil, ns, err
	}
	refused := fmt.Sprintf("it has no pause question in namespace %s (the kubeconfig's), and listing configmaps in all namespaces is forbidden to these credentials", ns)
	if err != nil {
		refused = fmt.Sprintf("listing configmaps in namespace %s (the kubeconfig's) and in all namespaces is forbidden to these credentials (%v)", ns, err)
	}
	all, err := cms(metav1.NamespaceAll).List(ctx, questionsOf(runID))
	switch {
	case apierrors.IsForbidden(err):
		return nil, ns, fmt.Errorf("run %s: %s: its question is in the run's namespace, which the run printed; give it with -n: cutover %s %s -n NAMESPACE (%s there)",
			runID, refused, answer, runID, needs)
	case err != nil:
		return nil, ns, err
	case len(all.Items) > 0:
		return all, all.Items[0].Namespace, nil
	}
	return all, ns, nil
}

func waitVerb(n int) string {
	if n == 1 {
		return "waits"
	}
	return "wait"
}

// runOver says why a run can no longer take an answer ("is over
// (undone)", "was abandoned (its lock is released)"), or "" when it may be
// waiting. A run whose journal cannot be read is given the benefit of the
// doubt: its question is the only evidence there is. p is the pipeline of
// a fleet's share (nil otherwise: the resume it suggests names PATH).
func (c *cli) runOver(clients *kube.Clients, ns, runID string, p *engine.Program, o *options) string {
	j, err := runStore(clients, ns, o).Open(context.Background(), runID)
	if err != nil {
		return ""
	}
	m := j.Meta()
	if m.Status != journal.StatusRunning {
		return "is over (" + m.Status + ")"
	}
	if state, detail := liveness(lock.NewLeaseLocker(clients, ns), m, time.Now()); state == "abandoned" {
		return "was abandoned (" + detail + "; " + p.Command("run", []string{"--resume", runID}, o.target, ns) + " to go on)"
	}
	return ""
}
