package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cutoverhq/cutover/kube"
)

// Labels and annotations of a run's objects (Secrets or ConfigMaps).
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelKind      = "cutover.dev/kind"
	LabelRun       = "cutover.dev/run"
	LabelPipeline  = "cutover.dev/pipeline"
	LabelStatus    = "cutover.dev/status"
	AnnotationMeta = "cutover.dev/meta"
	// LabelPart numbers a continuation object (2, 3, …) of a run whose
	// journal outgrew one; such objects have LabelKind "part".
	LabelPart = "cutover.dev/part"
	// AnnotationSealed marks a ConfigMap part the journal continues after
	// (the Secret journal says it in its payload); see secretPayload.
	AnnotationSealed = "cutover.dev/sealed"
)

// defaultPartLimit is how many bytes of entries one ConfigMap holds before
// the journal spills into a continuation: under the API server's 1 MiB cap
// on ConfigMap data, with room for the metadata.
const defaultPartLimit = 900 << 10

// NewConfigMapStore keeps each run's journal in ConfigMaps
// cutover-run-RUN, -2, … of namespace: one data key per entry (e000001, …),
// the meta in an annotation. It is the explicit opt-in for clusters where
// the journal must stay readable to those who may not read Secrets; the
// default, NewSecretStore, keeps undo records (which may hold the previous
// state of Secrets) where the cluster protects secrets. An append is one
// merge patch that adds keys and carries the resourceVersion last seen as a
// precondition, so it never overwrites another writer's entries.
func NewConfigMapStore(c *kube.Clients, namespace string) Store {
	return newConfigMapStore(c.Typed, namespace)
}

func newConfigMapStore(client kubernetes.Interface, namespace string) *cmStore {
	return &cmStore{client: client, ns: namespace, limit: defaultPartLimit, entryCap: DefaultEntryCap}
}

type cmStore struct {
	client   kubernetes.Interface
	ns       string
	limit    int // bytes of data per ConfigMap
	entryCap int // bytes of an entry other than an undo record
}

func partName(runID string, part int) string {
	if part <= 1 {
		return "cutover-run-" + runID
	}
	return fmt.Sprintf("cutover-run-%s-%d", runID, part)
}

func (s *cmStore) where(name string) string {
	return fmt.Sprintf("ConfigMap %s/%s", s.ns, name)
}

func (s *cmStore) Create(ctx context.Context, m Meta) (Journal, error) {
	m = completeMeta(m, s.ns)
	meta, _ := json.Marshal(m)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: partName(m.RunID, 1),
			Labels: map[string]string{
				LabelManagedBy: "cutover", LabelKind: "run", LabelRun: m.RunID,
				LabelPipeline: labelValue(m.Pipeline), LabelStatus: labelValue(m.Status),
			},
			Annotations: map[string]string{AnnotationMeta: string(meta)},
		},
		Data: map[string]string{},
	}
	var got *corev1.ConfigMap
	err := transient(ctx, func(ctx context.Context) error {
		var err error
		got, err = s.client.CoreV1().ConfigMaps(s.ns).Create(ctx, cm, metav1.CreateOptions{FieldManager: "cutover"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating the journal %s: %w", s.where(cm.Name), err)
	}
	first := cmPartOf(got, 1)
	return &cmJournal{writer: writer{meta: m, entryCap: s.entryCap}, store: s, run: m.RunID, first: first, last: first}, nil
}

func (s *cmStore) Open(ctx context.Context, runID string) (Journal, error) {
	j := &cmJournal{writer: writer{meta: Meta{RunID: runID}, entryCap: s.entryCap}, store: s, run: runID}
	m, es, err := j.reload(ctx)
	if err != nil {
		return nil, err
	}
	j.meta, j.next = m, lastSeq(es)
	return j, nil
}

func (s *cmStore) List(ctx context.Context) ([]Meta, error) {
	return metas(s.runs(ctx))
}

func (s *cmStore) Prune(ctx context.Context, pipeline string, keep int) ([]string, error) {
	return prune(ctx, pipeline, keep, s.runs)
}

// runs lists the runs (and orphaned parts) of the namespace in one read.
// ConfigMaps that are not valid journals are left out.
func (s *cmStore) runs(ctx context.Context) ([]storedRun, error) {
	var list *corev1.ConfigMapList
	err := transient(ctx, func(ctx context.Context) error {
		var err error
		list, err = s.client.CoreV1().ConfigMaps(s.ns).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=cutover," + LabelKind + " in (run,part)"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing the run journals (ConfigMaps) in namespace %s: %w", s.ns, err)
	}
	var objs []kobj
	for i := range list.Items {
		o := &list.Items[i]
		k := kobj{name: o.Name, uid: o.UID, rv: o.ResourceVersion, run: o.Labels[LabelRun], part: o.Labels[LabelKind] == "part"}
		if k.run == "" {
			continue
		}
		if !k.part {
			m, err := s.metaOf(o)
			if err != nil {
				continue
			}
			k.meta = m
		}
		objs = append(objs, k)
	}
	return group(objs, func(ctx context.Context, name string, pre metav1.Preconditions) error {
		return s.client.CoreV1().ConfigMaps(s.ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &pre})
	}), nil
}

// metaOf reads the meta of part 1, which must be of the run its label
// names.
func (s *cmStore) metaOf(cm *corev1.ConfigMap) (Meta, error) {
	var m Meta
	if err := json.Unmarshal([]byte(cm.Annotations[AnnotationMeta]), &m); err != nil {
		return m, fmt.Errorf("%s is not a cutover journal: annotation %s: %w", s.where(cm.Name), AnnotationMeta, err)
	}
	if run := cm.Labels[LabelRun]; m.RunID != run {
		return m, fmt.Errorf("%s: meta is of run %q, label %s says %q", s.where(cm.Name), m.RunID, LabelRun, run)
	}
	return m, nil
}

// labelValue makes text a valid label value ("failed, undone" →
// "failed-undone"); the exact text is in the meta.
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

// cmPart is what the journal keeps of a ConfigMap part between writes.
type cmPart struct {
	name   string
	n      int
	rv     string
	size   int // bytes of data, as the API server counts them
	sealed bool
}

func cmPartOf(cm *corev1.ConfigMap, n int) *cmPart {
	return &cmPart{name: cm.Name, n: n, rv: cm.ResourceVersion, size: dataSize(cm.Data), sealed: cm.Annotations[AnnotationSealed] == "true"}
}

func entryKey(seq int) string { return fmt.Sprintf("e%06d", seq) }

func seqOf(key string) (int, bool) {
	if !strings.HasPrefix(key, "e") {
		return 0, false
	}
	n, err := strconv.Atoi(key[1:])
	return n, err == nil
}

// dataSize is what the API server counts against a ConfigMap's 1 MiB.
func dataSize(data map[string]string) int {
	n := 0
	for k, v := range data {
		n += len(k) + len(v)
	}
	return n
}

func partNumber(cm *corev1.ConfigMap) int {
	if cm.Labels[LabelKind] != "part" {
		return 1
	}
	if n, err := strconv.Atoi(cm.Labels[LabelPart]); err == nil && n > 1 {
		return n
	}
	return 0
}

// sortParts orders a run's ConfigMaps, part 1 first, rejecting a part
// without a valid number and two objects claiming the same part.
func (s *cmStore) sortParts(cms []*corev1.ConfigMap) error {
	for _, cm := range cms {
		if partNumber(cm) == 0 {
			return fmt.Errorf("%s: label %s is %q, want a part number above 1", s.where(cm.Name), LabelPart, cm.Labels[LabelPart])
		}
	}
	sort.Slice(cms, func(a, b int) bool { return partNumber(cms[a]) < partNumber(cms[b]) })
	for i := 1; i < len(cms); i++ {
		if partNumber(cms[i]) == partNumber(cms[i-1]) {
			return fmt.Errorf("%s and %s are both part %d of run %s", s.where(cms[i-1].Name), s.where(cms[i].Name), partNumber(cms[i]), cms[i].Labels[LabelRun])
		}
	}
	return nil
}
