package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sethvargo/go-retry"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cutoverhq/cutover/kube"
)

// Labels and annotations of a run's ConfigMap.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelKind      = "cutover.dev/kind"
	LabelRun       = "cutover.dev/run"
	LabelPipeline  = "cutover.dev/pipeline"
	LabelStatus    = "cutover.dev/status"
	AnnotationMeta = "cutover.dev/meta"
	// LabelPart numbers a continuation ConfigMap (2, 3, …) of a run whose
	// journal outgrew one; such ConfigMaps have LabelKind "part".
	LabelPart = "cutover.dev/part"
)

// defaultPartLimit is how many bytes of entries one ConfigMap holds before
// the journal spills into a continuation: under the API server's 1 MiB cap
// on ConfigMap data, with room for the metadata.
const defaultPartLimit = 900 << 10

// NewConfigMapStore keeps each run's journal in a ConfigMap
// cutover-run-RUN of namespace: one data key per entry, so an append is one
// PATCH that adds keys, never a read-modify-write of the whole journal.
func NewConfigMapStore(c *kube.Clients, namespace string) Store {
	return &cmStore{client: c.Typed, ns: namespace, limit: defaultPartLimit}
}

type cmStore struct {
	client kubernetes.Interface
	ns     string
	limit  int // bytes of data per ConfigMap
}

func cmName(runID string) string { return "cutover-run-" + runID }

func (s *cmStore) Create(ctx context.Context, m Meta) (Journal, error) {
	if m.RunID == "" {
		m.RunID = NewRunID()
	}
	if m.Started.IsZero() {
		m.Started = time.Now().UTC()
	}
	if m.Namespace == "" {
		m.Namespace = s.ns
	}
	meta, _ := json.Marshal(m)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: cmName(m.RunID),
			Labels: map[string]string{
				LabelManagedBy: "cutover", LabelKind: "run", LabelRun: m.RunID,
				LabelPipeline: labelValue(m.Pipeline), LabelStatus: labelValue(m.Status),
			},
			Annotations: map[string]string{AnnotationMeta: string(meta)},
		},
		Data: map[string]string{},
	}
	err := transient(ctx, func(ctx context.Context) error {
		_, err := s.client.CoreV1().ConfigMaps(s.ns).Create(ctx, cm, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating the journal %s/%s: %w", s.ns, cm.Name, err)
	}
	return &cmJournal{store: s, meta: m, part: 1}, nil
}

func (s *cmStore) Open(ctx context.Context, runID string) (Journal, error) {
	var cm *corev1.ConfigMap
	err := transient(ctx, func(ctx context.Context) error {
		var err error
		cm, err = s.client.CoreV1().ConfigMaps(s.ns).Get(ctx, cmName(runID), metav1.GetOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("run %s in namespace %s: %w", runID, s.ns, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	m, err := metaOf(cm)
	if err != nil {
		return nil, err
	}
	j := &cmJournal{store: s, meta: m}
	// Where the next entry goes (the last part, how full it is) and its
	// seq come from what is stored, so a new process continues the run.
	parts, err := j.parts(ctx)
	if err != nil {
		return nil, err
	}
	last := parts[len(parts)-1]
	j.part, j.partSize = partNumber(last), dataSize(last.Data)
	for _, p := range parts {
		for k := range p.Data {
			if seq, ok := seqOf(k); ok && seq > j.next {
				j.next = seq
			}
		}
	}
	return j, nil
}

func (s *cmStore) List(ctx context.Context) ([]Meta, error) {
	var list *corev1.ConfigMapList
	err := transient(ctx, func(ctx context.Context) error {
		var err error
		list, err = s.client.CoreV1().ConfigMaps(s.ns).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=cutover," + LabelKind + "=run"})
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []Meta
	for i := range list.Items {
		if m, err := metaOf(&list.Items[i]); err == nil {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, nil
}

func metaOf(cm *corev1.ConfigMap) (Meta, error) {
	var m Meta
	if err := json.Unmarshal([]byte(cm.Annotations[AnnotationMeta]), &m); err != nil {
		return m, fmt.Errorf("ConfigMap %s is not a cutover journal: %w", cm.Name, err)
	}
	return m, nil
}

func (j *cmJournal) SetStatus(ctx context.Context, status string, entries ...Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	m := j.meta
	m.Status = status
	meta, _ := json.Marshal(m)
	metaPatch := map[string]any{
		"labels":      map[string]string{LabelStatus: labelValue(status)},
		"annotations": map[string]string{AnnotationMeta: string(meta)},
	}
	done, err := j.appendLocked(ctx, entries, metaPatch)
	if err == nil && !done {
		patch, _ := json.Marshal(map[string]any{"metadata": metaPatch})
		err = j.patch(ctx, cmName(j.meta.RunID), patch)
	}
	if err == nil {
		j.meta.Status = status
	}
	return err
}

// labelValue makes text a valid label value ("failed, undone" →
// "failed-undone"); the exact text is in the meta annotation.
func labelValue(s string) string {
	b := make([]byte, 0, len(s))
	dash := false
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_'
		if ok {
			b = append(b, c)
			dash = false
		} else if !dash && len(b) > 0 {
			b = append(b, '-')
			dash = true
		}
	}
	out := strings.Trim(string(b), "-._")
	if len(out) > 63 {
		out = strings.Trim(out[:63], "-._")
	}
	return out
}

// transient retries what a blip of the API server causes, for up to ~30s:
// a journal write must survive it, or the run would stop for nothing.
func transient(ctx context.Context, f func(context.Context) error) error {
	b := retry.WithMaxDuration(30*time.Second, retry.WithCappedDuration(4*time.Second, retry.NewExponential(100*time.Millisecond)))
	return retry.Do(ctx, b, func(ctx context.Context) error {
		err := f(ctx)
		if kube.IsTransient(err) {
			return retry.RetryableError(err)
		}
		return err
	})
}
