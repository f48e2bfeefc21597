// Package pause is the manual gate: a stage that waits until someone runs
// `cutover approve RUN` or `cutover abort RUN`, from another CI job or a
// laptop, or until its timeout.
//
// The question lives in a ConfigMap of its own (cutover-pause-RUN-STAGE,
// labelled with the run), so answering needs only RBAC on ConfigMaps in the
// namespace, and the waiting run sees the answer through a watch at once.
package pause

import (
	"context"
	"fmt"
	"hash/crc32"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/cutoverhq/cutover/internal/defaults"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/steps"
)

// Answers a pause accepts.
const (
	Approve = "approve"
	Abort   = "abort"
)

// Labels and keys of the question ConfigMap; `cutover approve` writes
// AnswerKey (and AnsweredBy).
const (
	RunLabel   = "cutover.dev/run"
	StageLabel = "cutover.dev/stage"
	AnswerKey  = "answer"
	ByKey      = "answered-by"
)

// Name is the ConfigMap holding the question of a stage of a run.
func Name(runID, stage string) string {
	n := fmt.Sprintf("cutover-pause-%s-%s", runID, stagePart(stage))
	if len(n) > 253 {
		n = strings.TrimRight(n[:253], "-.")
	}
	return n
}

// stagePart is a stage's address as a DNS name part and a label value: an
// instance of a stage with for_each, NAME["KEY"] (docs/design.md, "Stages
// with for_each"), is NAME.KEY — no stage name holds a dot — with the
// key's characters that a name cannot hold replaced; both begin and end
// with a letter or digit, as Kubernetes requires.
func stagePart(stage string) string {
	// approval[20] is approval["20"] once a shell has eaten the quotes.
	name, key, instance := strings.Cut(stage, `[`)
	if !instance || !strings.HasSuffix(key, `]`) {
		return sanitize(stage)
	}
	key = strings.TrimSuffix(key, `]`)
	if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
		key = key[1 : len(key)-1]
	}
	key = strings.Trim(sanitize(key), "-.")
	if key == "" {
		key = fmt.Sprintf("%x", crc32.ChecksumIEEE([]byte(stage)))
	}
	return sanitize(name) + "." + key
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.':
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		default:
			b[i] = '-'
		}
	}
	return string(b)
}

type kind struct{}

func init() { steps.Register(kind{}) }

func (kind) Name() string { return "pause" }

func (kind) Doc() string {
	return "A manual gate: the stage waits until someone runs `cutover approve RUN [STAGE]` or " +
		"`cutover abort RUN [STAGE]` (from another CI job or a laptop), or until its timeout. The question is a " +
		"ConfigMap of its own in the namespace, watched, so the run goes on as soon as it is answered. Abort fails " +
		"the stage, and the run undoes what it did."
}

func (kind) AttrDocs() map[string]string {
	return map[string]string{
		"message":    "The question people are asked; shown by `cutover status` and the notifications.",
		"timeout":    "How long to wait for an answer, with its unit (default `\"1h\"`), from when the stage first asks: a run resumed after its job died (`run --resume`) keeps that end, and answers with `on_timeout` at once when it has passed.",
		"on_timeout": "What a timeout means: `abort` (default) or `approve`.",
		"namespace":  "The namespace of the question's ConfigMap (default: the pipeline's, or the run's `--namespace`).",
	}
}

// config is the pause block.
type config struct {
	Message   string        `hcl:"message"`
	Timeout   time.Duration `hcl:"timeout"`
	OnTimeout string        `hcl:"on_timeout"`
	Namespace string        `hcl:"namespace"`
}

func newConfig() config { return config{Timeout: defaults.PauseTimeout, OnTimeout: Abort} }

var spec = steps.SpecFor[config]()

func (kind) Spec() hcldec.Spec { return spec }

var outputType = cty.Object(map[string]cty.Type{"answer": cty.String, "answered_by": cty.String})

func (kind) Output() cty.Type { return outputType }

func (kind) Check(cfg cty.Value) []steps.Problem {
	c := newConfig()
	u, err := steps.Decode(cfg, &c)
	out := steps.ProblemsOf(err)
	if !u.Has("on_timeout") && c.OnTimeout != Approve && c.OnTimeout != Abort {
		out = append(out, steps.Problem{Path: []string{"on_timeout"}, Summary: "Invalid on_timeout",
			Detail: fmt.Sprintf("on_timeout is %q or %q, not %q.", Approve, Abort, c.OnTimeout)})
	}
	return out
}

// Bound is the wait's own end, its timeout: the engine counts it in the
// attempt's deadline, which the question's "left" and status both tell.
func (kind) Bound(cfg cty.Value) time.Duration {
	c := newConfig()
	if _, err := steps.Decode(cfg, &c); err != nil {
		return 0
	}
	return c.Timeout
}

func (kind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	c := newConfig()
	if _, err := steps.Decode(cfg, &c); err != nil {
		return cty.NilVal, err
	}
	timeout, onTimeout := c.Timeout, c.OnTimeout
	if env.DryRun {
		return cty.NilVal, steps.NotRehearsed(cty.ObjectVal(map[string]cty.Value{"answer": cty.StringVal(Approve), "answered_by": cty.StringVal("dry run")}),
			"no one is asked; the stages after it go on as if approved")
	}
	// Its answer is given with `cutover approve`, through a ConfigMap.
	cs, err := env.Clients("pause")
	if err != nil {
		return cty.NilVal, err
	}
	ns := env.NamespaceFor(c.Namespace, cs)
	name := Name(env.RunID, env.Stage)
	cms := cs.Typed.CoreV1().ConfigMaps(ns)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"app.kubernetes.io/managed-by": "cutover", RunLabel: env.RunID, StageLabel: stagePart(env.Stage),
		}},
		Data: map[string]string{"message": c.Message, "pipeline": env.Pipeline, "stage": env.Stage},
	}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return cty.NilVal, steps.Retryable(fmt.Errorf("creating the pause question %s/%s: %w", ns, name, err))
	}
	// The question is not state to undo, and is removed however the wait ends.
	defer cms.Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{})

	// The namespace is spelt out: the person answering may have another
	// default namespace than the pipeline's.
	how := fmt.Sprintf("%s -n %s", env.RunID, ns)
	if env.Target != "" {
		// A fleet's share: the question lives in this target's cluster,
		// which approve finds with --target and the pipeline.
		how = strings.TrimPrefix(env.Command(ns, Approve, env.RunID, env.Stage), "cutover "+Approve+" ")
	}
	// What is left of the attempt's deadline (this timeout, or the
	// stage's or the pipeline's when one ends first), as status tells it.
	left := timeout
	if !env.Deadline.IsZero() {
		left = max(time.Until(env.Deadline).Round(time.Second), 0)
	}
	msg := fmt.Sprintf(waitingPrefix+"%s (or abort), %s left", how, left)
	if c.Message != "" {
		msg = c.Message + messageSep + msg
	}
	env.Report(msg)
	end := time.Now().Add(timeout)
	if !env.Until.IsZero() && env.Until.Before(end) {
		end = env.Until // resumed: the wait keeps the end it had
	}
	wctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return cms.List(wctx, o)
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return cms.Watch(wctx, o)
		},
	}, cs.Typed)
	var answer, by string
	_, err = watchtools.UntilWithSync(wctx, lw, &corev1.ConfigMap{}, nil, func(e watch.Event) (bool, error) {
		if e.Type == watch.Deleted {
			return false, fmt.Errorf("the pause question %s/%s was deleted", ns, name)
		}
		c, ok := e.Object.(*corev1.ConfigMap)
		if !ok {
			return false, nil
		}
		answer, by = c.Data[AnswerKey], c.Data[ByKey]
		return answer == Approve || answer == Abort, nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return cty.NilVal, ctx.Err()
		}
		if wctx.Err() == nil {
			return cty.NilVal, err
		}
		answer, by = onTimeout, "timeout after "+timeout.String()
	}
	if answer == Abort {
		return cty.NilVal, fmt.Errorf("aborted by %s", orUnknown(by))
	}
	return cty.ObjectVal(map[string]cty.Value{"answer": cty.StringVal(answer), "answered_by": cty.StringVal(orUnknown(by))}), nil
}

// The progress message of a stage waiting for its answer is
// [MESSAGE — ]waiting for approval: cutover approve RUN -n NAMESPACE …;
// Waiting reads it back for those who relay the question (notifications).
const (
	waitingPrefix = "waiting for approval: cutover approve "
	messageSep    = " — "
)

// Waiting says whether msg is a pause stage's question, and returns the
// pipeline's message for it, the namespace the question lives in and, in
// a fleet's share, the arguments that answer it (RUN STAGE PATH --target T
// [-var …] -n NS, as the run's Env.Command gives them; "" otherwise).
func Waiting(msg string) (message, namespace, targetArgs string, ok bool) {
	before, after, ok := strings.Cut(msg, waitingPrefix)
	if !ok {
		return "", "", "", false
	}
	args, _, _ := strings.Cut(after, " (or abort)")
	// The last -n: a -var before it may hold any word.
	f := strings.Fields(args)
	for i := len(f) - 2; i >= 1; i-- {
		if f[i] == "-n" {
			if strings.Contains(args, " --target ") {
				targetArgs = args
			}
			return strings.TrimSuffix(before, messageSep), f[i+1], targetArgs, true
		}
	}
	return "", "", "", false
}

func orUnknown(s string) string {
	if s == "" {
		return "someone"
	}
	return s
}

// Command is the shell command that answers stage of run: the stage is
// single-quoted when it needs to be, so approval["20"] survives a shell.
func Command(answer, runID, stage, namespace string) string {
	return fmt.Sprintf("cutover %s %s %s -n %s", answer, runID, words.Shell(stage), namespace)
}

// StageValue is the StageLabel value of a stage's question.
func StageValue(stage string) string { return stagePart(stage) }
