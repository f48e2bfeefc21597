package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// cmJournal appends to the run's last ConfigMap ("part"). Part 1 is
// cutover-run-RUN, which also holds the meta; parts 2, 3, … are
// cutover-run-RUN-2, … and exist only once the journal outgrew the previous.
type cmJournal struct {
	writer
	store       *cmStore
	run         string
	first, last *cmPart
}

// Append writes entries with one merge patch that only adds keys; only a
// batch that would overflow the current part is split, the rest going to a
// new continuation ConfigMap. It returns once the API server stored them.
func (j *cmJournal) Append(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := noSecretData(entries); err != nil {
		return err
	}
	return j.write(ctx, j, entries, nil)
}

// noSecretData refuses an undo record holding a Secret's previous content:
// a ConfigMap is readable by the built-in view role, so the step must not
// write (it cannot journal what it would overwrite) rather than copy a
// Secret where more people can read it.
func noSecretData(entries []Entry) error {
	for _, e := range entries {
		if e.Kind != KindRecord {
			continue
		}
		var r struct {
			Kind    string          `json:"kind"`
			Name    string          `json:"name"`
			Object  json.RawMessage `json:"object"`
			Existed bool            `json:"existed"`
		}
		if json.Unmarshal(e.Data, &r) == nil && r.Kind == "Secret" && r.Existed && len(r.Object) > 0 {
			return fmt.Errorf("stage %s would overwrite secret/%s, and this run keeps its state in ConfigMaps (--state configmap), which must not hold a Secret's data: use the default --state secret", e.Stage, r.Name)
		}
	}
	return nil
}

// SetStatus is one patch when the journal has a single part: the entries,
// the status label and the meta annotation together.
func (j *cmJournal) SetStatus(ctx context.Context, status string, entries ...Entry) error {
	if err := noSecretData(entries); err != nil {
		return err
	}
	return j.write(ctx, j, entries, &status)
}

// metaPatch is the metadata that records m.
func metaPatch(m Meta) map[string]any {
	meta, _ := json.Marshal(m)
	return map[string]any{
		"labels":      map[string]string{LabelStatus: labelValue(m.Status)},
		"annotations": map[string]string{AnnotationMeta: string(meta)},
	}
}

func (j *cmJournal) put(ctx context.Context, es []Entry, meta *Meta) (int, bool, error) {
	limit := j.store.limit
	keys := make([]string, len(es))
	vals := make([]string, len(es))
	for i, e := range es {
		b, err := json.Marshal(e)
		if err != nil {
			return 0, false, fmt.Errorf("journal entry %d of run %s: %w", e.Seq, j.run, err)
		}
		keys[i], vals[i] = entryKey(e.Seq), string(b)
	}
	// fit counts the entries that fit in room bytes, and their size.
	fit := func(room int) (int, int) {
		n, size := 0, 0
		for n < len(es) && size+len(keys[n])+len(vals[n]) <= room {
			size += len(keys[n]) + len(vals[n])
			n++
		}
		return n, size
	}
	if first := len(keys[0]) + len(vals[0]); first > limit {
		return 0, false, fmt.Errorf("journal entry %d of run %s (%s %s) is %d bytes; a ConfigMap holds at most %d: keep undo records smaller",
			es[0].Seq, j.run, es[0].Kind, es[0].Stage, first, limit)
	}
	if j.last.sealed {
		n, _ := fit(limit)
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: partName(j.run, j.last.n+1), Labels: map[string]string{
				LabelManagedBy: "cutover", LabelKind: "part", LabelRun: j.run,
				LabelPart: strconv.Itoa(j.last.n + 1),
			}},
			Data: map[string]string{},
		}
		if n < len(es) {
			cm.Annotations = map[string]string{AnnotationSealed: "true"}
		}
		for i := 0; i < n; i++ {
			cm.Data[keys[i]] = vals[i]
		}
		var got *corev1.ConfigMap
		err := transient(ctx, func(ctx context.Context) error {
			var err error
			got, err = j.store.client.CoreV1().ConfigMaps(j.store.ns).Create(ctx, cm, metav1.CreateOptions{FieldManager: "cutover"})
			return err
		})
		if err != nil {
			return 0, false, fmt.Errorf("writing the journal of run %s to %s: %w", j.run, j.store.where(cm.Name), err)
		}
		j.last = cmPartOf(got, j.last.n+1)
		return n, false, nil
	}
	n, _ := fit(limit - j.last.size)
	md := map[string]any{"resourceVersion": j.last.rv}
	withMeta := meta != nil && n == len(es) && j.last.n == 1
	if withMeta {
		for k, v := range metaPatch(*meta) {
			md[k] = v
		}
	}
	if n < len(es) {
		md["annotations"] = map[string]string{AnnotationSealed: "true"}
	}
	data := map[string]string{}
	for i := 0; i < n; i++ {
		data[keys[i]] = vals[i]
	}
	got, err := j.patch(ctx, j.last.name, map[string]any{"metadata": md, "data": data})
	if err != nil {
		return 0, false, err
	}
	last := cmPartOf(got, j.last.n)
	if last.n == 1 {
		j.first = last
	}
	j.last = last
	return n, withMeta, nil
}

func (j *cmJournal) putMeta(ctx context.Context, m Meta) error {
	md := metaPatch(m)
	md["resourceVersion"] = j.first.rv
	got, err := j.patch(ctx, j.first.name, map[string]any{"metadata": md})
	if err != nil {
		return err
	}
	first := cmPartOf(got, 1)
	if j.last == j.first {
		j.last = first
	}
	j.first = first
	return nil
}

// patch sends a merge patch; its metadata.resourceVersion is a
// precondition the API server checks, failing a stale write with Conflict.
func (j *cmJournal) patch(ctx context.Context, name string, body map[string]any) (*corev1.ConfigMap, error) {
	patch, _ := json.Marshal(body)
	var got *corev1.ConfigMap
	err := transient(ctx, func(ctx context.Context) error {
		var err error
		got, err = j.store.client.CoreV1().ConfigMaps(j.store.ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "cutover"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("writing the journal of run %s to %s: %w", j.run, j.store.where(name), err)
	}
	return got, nil
}

// read returns the run's ConfigMaps in order, part 1 first, and its
// entries. A list without a resourceVersion is a quorum read, so it sees
// every acknowledged append.
func (j *cmJournal) read(ctx context.Context) ([]*corev1.ConfigMap, []Entry, error) {
	s := j.store
	var list *corev1.ConfigMapList
	err := transient(ctx, func(ctx context.Context) error {
		var err error
		list, err = s.client.CoreV1().ConfigMaps(s.ns).List(ctx, metav1.ListOptions{
			LabelSelector: LabelManagedBy + "=cutover," + LabelRun + "=" + j.run})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading the journal of run %s in namespace %s: %w", j.run, s.ns, err)
	}
	var cms []*corev1.ConfigMap
	for i := range list.Items {
		if k := list.Items[i].Labels[LabelKind]; k == "run" || k == "part" {
			cms = append(cms, &list.Items[i])
		}
	}
	if err := s.sortParts(cms); err != nil {
		return nil, nil, err
	}
	if len(cms) == 0 || partNumber(cms[0]) != 1 {
		return nil, nil, fmt.Errorf("run %s in namespace %s: %s: %w", j.run, s.ns, s.where(partName(j.run, 1)), ErrNotFound)
	}
	var es []Entry
	for _, cm := range cms {
		for k, v := range cm.Data {
			seq, ok := seqOf(k)
			if !ok {
				continue
			}
			var e Entry
			if err := json.Unmarshal([]byte(v), &e); err != nil {
				return nil, nil, fmt.Errorf("%s: journal entry %s: %w", s.where(cm.Name), k, err)
			}
			if e.Seq != seq {
				return nil, nil, fmt.Errorf("%s: journal entry %s has seq %d", s.where(cm.Name), k, e.Seq)
			}
			es = append(es, e)
		}
	}
	es, err = ordered(es, fmt.Sprintf("run %s (%s)", j.run, s.where(cms[0].Name)))
	if err != nil {
		return nil, nil, err
	}
	return cms, es, nil
}

func (j *cmJournal) reload(ctx context.Context) (Meta, []Entry, error) {
	cms, es, err := j.read(ctx)
	if err != nil {
		return Meta{}, nil, err
	}
	m, err := j.store.metaOf(cms[0])
	if err != nil {
		return Meta{}, nil, err
	}
	last := cms[len(cms)-1]
	j.first, j.last = cmPartOf(cms[0], 1), cmPartOf(last, partNumber(last))
	if len(cms) == 1 {
		j.last = j.first
	}
	return m, es, nil
}

func (j *cmJournal) Entries(ctx context.Context) ([]Entry, error) {
	_, es, err := j.read(ctx)
	return es, err
}
