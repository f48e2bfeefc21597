package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sethvargo/go-retry"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
)

// NewConfigMapStore keeps each run's journal in a ConfigMap
// cutover-run-RUN of namespace: one data key per entry, so an append is one
// PATCH that adds keys, never a read-modify-write of the whole journal.
func NewConfigMapStore(c *kube.Clients, namespace string) Store {
	return &cmStore{client: c.Typed, ns: namespace}
}

type cmStore struct {
	client kubernetes.Interface
	ns     string
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
	return &cmJournal{store: s, meta: m}, nil
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
	return &cmJournal{store: s, meta: m, next: len(cm.Data)}, nil
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

type cmJournal struct {
	store *cmStore
	mu    sync.Mutex
	meta  Meta
	next  int // entries written so far
}

func (j *cmJournal) Meta() Meta {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.meta
}

func entryKey(seq int) string { return fmt.Sprintf("e%06d", seq) }

func (j *cmJournal) Append(ctx context.Context, entries ...Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	data := map[string]string{}
	for i := range entries {
		entries[i].Seq = j.next + i + 1
		b, err := json.Marshal(entries[i])
		if err != nil {
			return err
		}
		data[entryKey(entries[i].Seq)] = string(b)
	}
	patch, _ := json.Marshal(map[string]any{"data": data})
	if err := j.patch(ctx, patch); err != nil {
		return err
	}
	j.next += len(entries)
	return nil
}

func (j *cmJournal) patch(ctx context.Context, patch []byte) error {
	return transient(ctx, func(ctx context.Context) error {
		_, err := j.store.client.CoreV1().ConfigMaps(j.store.ns).Patch(ctx, cmName(j.meta.RunID), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "cutover"})
		return err
	})
}

func (j *cmJournal) Entries(ctx context.Context) ([]Entry, error) {
	var cm *corev1.ConfigMap
	err := transient(ctx, func(ctx context.Context) error {
		var err error
		cm, err = j.store.client.CoreV1().ConfigMaps(j.store.ns).Get(ctx, cmName(j.meta.RunID), metav1.GetOptions{})
		return err
	})
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		if strings.HasPrefix(k, "e") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]Entry, 0, len(keys))
	for _, k := range keys {
		var e Entry
		if err := json.Unmarshal([]byte(cm.Data[k]), &e); err != nil {
			return nil, fmt.Errorf("journal entry %s of run %s: %w", k, j.meta.RunID, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func (j *cmJournal) SetStatus(ctx context.Context, status string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.meta.Status = status
	meta, _ := json.Marshal(j.meta)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"labels":      map[string]string{LabelStatus: labelValue(status)},
		"annotations": map[string]string{AnnotationMeta: string(meta)},
	}})
	return j.patch(ctx, patch)
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
