package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// cmJournal appends to the run's last ConfigMap ("part"). Part 1 is
// cutover-run-RUN, which also holds the meta; parts 2, 3, … are
// cutover-run-RUN-2, … and exist only once the journal outgrew the previous.
type cmJournal struct {
	store    *cmStore
	mu       sync.Mutex
	meta     Meta
	next     int // seq of the last entry written
	part     int // the part being appended to
	partSize int // bytes of data in it
}

func (j *cmJournal) Meta() Meta {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.meta
}

func partName(runID string, part int) string {
	if part <= 1 {
		return cmName(runID)
	}
	return fmt.Sprintf("%s-%d", cmName(runID), part)
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
	if n, err := strconv.Atoi(cm.Labels[LabelPart]); err == nil && n > 1 {
		return n
	}
	return 1
}

// Append writes entries with one merge patch that only adds keys; only a
// batch that would overflow the current part is split, the rest going to a
// new continuation ConfigMap. It returns once the API server stored them.
func (j *cmJournal) Append(ctx context.Context, entries ...Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err := j.appendLocked(ctx, entries, nil)
	return err
}

// appendLocked writes entries; meta, when given, is merged into the patch
// of the last batch if that batch goes to part 1 (which holds the meta),
// saving a request. It says whether meta was written.
func (j *cmJournal) appendLocked(ctx context.Context, entries []Entry, meta map[string]any) (bool, error) {
	limit := j.store.limit
	batch, size, seq := map[string]string{}, 0, j.next
	newPart := false
	now := time.Now().UTC()
	for i := range entries {
		e := entries[i]
		seq++
		e.Seq = seq
		if e.Time.IsZero() {
			e.Time = now
		}
		b, err := json.Marshal(e)
		if err != nil {
			return false, fmt.Errorf("journal entry %d of run %s: %w", seq, j.meta.RunID, err)
		}
		key := entryKey(seq)
		n := len(key) + len(b)
		if n > limit {
			return false, fmt.Errorf("journal entry %d of run %s (%s %s) is %d bytes; a ConfigMap holds at most %d: keep outputs and undo records smaller",
				seq, j.meta.RunID, e.Kind, e.Stage, n, limit)
		}
		if j.partSize+size+n > limit {
			if _, err := j.flush(ctx, batch, size, seq-1, newPart, nil); err != nil {
				return false, err
			}
			j.part++
			j.partSize = 0
			batch, size, newPart = map[string]string{}, 0, true
		}
		batch[key] = string(b)
		size += n
	}
	return j.flush(ctx, batch, size, seq, newPart, meta)
}

// flush stores batch in the current part (creating it when new) and, once
// stored, moves the journal's position past it. meta rides along when the
// part is part 1 and is patched; flush says whether it did.
func (j *cmJournal) flush(ctx context.Context, batch map[string]string, size, last int, create bool, meta map[string]any) (bool, error) {
	if len(batch) == 0 {
		return false, nil
	}
	name := partName(j.meta.RunID, j.part)
	withMeta := meta != nil && !create && j.part <= 1
	var err error
	if create {
		err = j.createPart(ctx, name, batch)
	} else {
		body := map[string]any{"data": batch}
		if withMeta {
			body["metadata"] = meta
		}
		patch, _ := json.Marshal(body)
		err = j.patch(ctx, name, patch)
	}
	if err != nil {
		return false, fmt.Errorf("writing the journal of run %s to ConfigMap %s/%s: %w", j.meta.RunID, j.store.ns, name, err)
	}
	j.partSize += size
	j.next = last
	return withMeta, nil
}

func (j *cmJournal) createPart(ctx context.Context, name string, data map[string]string) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			LabelManagedBy: "cutover", LabelKind: "part", LabelRun: j.meta.RunID,
			LabelPart: strconv.Itoa(j.part),
		}},
		Data: data,
	}
	return transient(ctx, func(ctx context.Context) error {
		_, err := j.store.client.CoreV1().ConfigMaps(j.store.ns).Create(ctx, cm, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// An earlier try that timed out may have landed: adding the
			// same keys again is harmless.
			patch, _ := json.Marshal(map[string]any{"data": data})
			_, err = j.store.client.CoreV1().ConfigMaps(j.store.ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "cutover"})
		}
		return err
	})
}

func (j *cmJournal) patch(ctx context.Context, name string, patch []byte) error {
	return transient(ctx, func(ctx context.Context) error {
		_, err := j.store.client.CoreV1().ConfigMaps(j.store.ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "cutover"})
		return err
	})
}

// parts returns the run's ConfigMaps in order, part 1 first. A list without
// a resourceVersion is a quorum read, so it sees every acknowledged append.
func (j *cmJournal) parts(ctx context.Context) ([]*corev1.ConfigMap, error) {
	var list *corev1.ConfigMapList
	err := transient(ctx, func(ctx context.Context) error {
		var err error
		list, err = j.store.client.CoreV1().ConfigMaps(j.store.ns).List(ctx, metav1.ListOptions{
			LabelSelector: LabelManagedBy + "=cutover," + LabelRun + "=" + j.meta.RunID})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the journal of run %s in namespace %s: %w", j.meta.RunID, j.store.ns, err)
	}
	out := make([]*corev1.ConfigMap, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	sort.Slice(out, func(a, b int) bool { return partNumber(out[a]) < partNumber(out[b]) })
	if len(out) == 0 || partNumber(out[0]) != 1 {
		return nil, fmt.Errorf("run %s in namespace %s: ConfigMap %s: %w", j.meta.RunID, j.store.ns, cmName(j.meta.RunID), ErrNotFound)
	}
	return out, nil
}

func (j *cmJournal) Entries(ctx context.Context) ([]Entry, error) {
	parts, err := j.parts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, p := range parts {
		for k, v := range p.Data {
			if _, ok := seqOf(k); !ok {
				continue
			}
			var e Entry
			if err := json.Unmarshal([]byte(v), &e); err != nil {
				return nil, fmt.Errorf("journal entry %s of run %s (ConfigMap %s/%s): %w", k, j.meta.RunID, j.store.ns, p.Name, err)
			}
			out = append(out, e)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Seq < out[b].Seq })
	return out, nil
}
