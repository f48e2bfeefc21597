package journal

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/cutoverhq/cutover/kube"
)

// SecretType is the type of the Secrets holding run journals: their own
// type, so nothing mistakes them for credentials it should mount, and a
// Secret of another type is never read as a journal.
const SecretType corev1.SecretType = "cutover.dev/run.v1"

// SecretKey is the data key of a run Secret: the journal part as gzipped
// JSON (see secretPayload).
const SecretKey = "journal"

// Bounds of the Secret journal.
const (
	// defaultSecretLimit is how many compressed bytes one Secret holds
	// before the journal continues in the next: under the API server's
	// 1 MiB cap on Secret data, with room for the metadata.
	defaultSecretLimit = 900 << 10
	// defaultMaxDecoded bounds a part once decompressed, when written and
	// when read: what is read is input from whoever can write Secrets in
	// the namespace, and a few KiB of gzip can expand to gigabytes.
	defaultMaxDecoded = 16 << 20
)

// NewSecretStore keeps each run's journal in Secrets of namespace, where
// the cluster keeps what it must protect (RBAC on Secrets, encryption at
// rest when configured): the meta and every entry, JSON and gzipped, in the
// data key "journal" of cutover-run-RUN, continued in cutover-run-RUN-2, …
// once a part holds defaultSecretLimit compressed bytes. An append rewrites
// the last part with one update carrying the resourceVersion of the last
// response, so it is one request and never overwrites another writer's
// entries (see writer.write). It is the default store.
func NewSecretStore(c *kube.Clients, namespace string) Store {
	return secretStoreFor(c, namespace)
}

// secretStoreFor is the Secret store of c. Listing runs (status, history,
// prune) needs their labels and annotations only: with a metadata-only
// list, the payload of a Secret, the namespace's other Secrets included, is
// never read.
func secretStoreFor(c *kube.Clients, namespace string) *secretStore {
	s := newSecretStore(c.Typed, namespace)
	if c.Config != nil {
		if mc, err := metadata.NewForConfig(c.Config); err == nil {
			s.meta = mc
		}
	}
	return s
}

func newSecretStore(client kubernetes.Interface, namespace string) *secretStore {
	return &secretStore{client: client, ns: namespace, limit: defaultSecretLimit, maxDecoded: defaultMaxDecoded, entryCap: DefaultEntryCap}
}

type secretStore struct {
	client     kubernetes.Interface
	meta       metadata.Interface // lists runs without their data; nil: client lists them whole
	ns         string
	limit      int // compressed bytes per Secret
	maxDecoded int // bytes of a part once decompressed
	entryCap   int // bytes of an entry other than an undo record
}

// secretPayload is one part, before compression. Part 1 holds the meta.
// Sealed marks a part the journal continues after: writers that still see
// it as the last part fail their next write to it (its resourceVersion
// changed) instead of giving entries seqs the next part already used.
type secretPayload struct {
	Version int               `json:"v"`
	Run     string            `json:"run"`
	Part    int               `json:"part"`
	Meta    *Meta             `json:"meta,omitempty"`
	Sealed  bool              `json:"sealed,omitempty"`
	Entries []json.RawMessage `json:"entries"`
}

// secretPart is a part as the journal last saw it.
type secretPart struct {
	obj *corev1.Secret
	p   secretPayload
	es  []Entry
}

func (s *secretStore) where(name string) string {
	return fmt.Sprintf("Secret %s/%s", s.ns, name)
}

// listMeta is the meta kept in the annotation of part 1, so List reads
// runs without decompressing them. Vars are left out: they may be large
// and only Open's Meta needs them.
func listMeta(m Meta) string {
	m.Vars, m.Values = nil, nil
	b, _ := json.Marshal(m)
	return string(b)
}

// encode returns the compressed payload, or an error when it exceeds the
// store's bounds.
func (s *secretStore) encode(p *secretPayload) ([]byte, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if len(raw) > s.maxDecoded {
		return nil, fmt.Errorf("%d bytes of JSON, over the %d a part may hold", len(raw), s.maxDecoded)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > s.limit {
		return nil, fmt.Errorf("%d bytes compressed, over the %d a Secret holds", buf.Len(), s.limit)
	}
	return buf.Bytes(), nil
}

// object returns the Secret for part p, starting from base (the Secret as
// last seen, or nil for a new one).
func (s *secretStore) object(base *corev1.Secret, p *secretPayload, data []byte) *corev1.Secret {
	var obj *corev1.Secret
	if base != nil {
		obj = base.DeepCopy()
	} else {
		obj = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: partName(p.Run, p.Part)}, Type: SecretType}
	}
	if obj.Labels == nil {
		obj.Labels = map[string]string{}
	}
	obj.Labels[LabelManagedBy] = "cutover"
	obj.Labels[LabelRun] = p.Run
	if p.Meta != nil {
		obj.Labels[LabelKind] = "run"
		obj.Labels[LabelPipeline] = labelValue(p.Meta.Pipeline)
		obj.Labels[LabelStatus] = labelValue(p.Meta.Status)
		if obj.Annotations == nil {
			obj.Annotations = map[string]string{}
		}
		obj.Annotations[AnnotationMeta] = listMeta(*p.Meta)
	} else {
		obj.Labels[LabelKind] = "part"
		obj.Labels[LabelPart] = strconv.Itoa(p.Part)
	}
	obj.Data = map[string][]byte{SecretKey: data}
	return obj
}

// decode validates a Secret read from the cluster as part of run runID
// (any run when empty) and returns it decoded. Nothing in it is trusted:
// its type, labels, compression, size and JSON are all checked.
func (s *secretStore) decode(obj *corev1.Secret, runID string) (*secretPart, error) {
	where := s.where(obj.Name)
	if obj.Type != SecretType {
		return nil, fmt.Errorf("%s has type %q, not %q: not a cutover journal", where, obj.Type, SecretType)
	}
	run := obj.Labels[LabelRun]
	if run == "" || runID != "" && run != runID {
		return nil, fmt.Errorf("%s: label %s is %q, want %q", where, LabelRun, run, runID)
	}
	part := 1
	if obj.Labels[LabelKind] == "part" {
		n, err := strconv.Atoi(obj.Labels[LabelPart])
		if err != nil || n < 2 {
			return nil, fmt.Errorf("%s: label %s is %q, want a part number above 1", where, LabelPart, obj.Labels[LabelPart])
		}
		part = n
	}
	if obj.Name != partName(run, part) {
		return nil, fmt.Errorf("%s claims to be part %d of run %s, which is named %s", where, part, run, partName(run, part))
	}
	data, ok := obj.Data[SecretKey]
	if !ok {
		return nil, fmt.Errorf("%s has no data key %q", where, SecretKey)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: journal is not gzip: %w", where, err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, int64(s.maxDecoded)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: journal does not decompress: %w", where, err)
	}
	if len(raw) > s.maxDecoded {
		return nil, fmt.Errorf("%s: journal decompresses to more than %d bytes", where, s.maxDecoded)
	}
	sp := &secretPart{obj: obj}
	if err := json.Unmarshal(raw, &sp.p); err != nil {
		return nil, fmt.Errorf("%s: journal is not valid JSON: %w", where, err)
	}
	switch {
	case sp.p.Version != 1:
		return nil, fmt.Errorf("%s: journal format version %d, this cutover reads 1", where, sp.p.Version)
	case sp.p.Run != run || sp.p.Part != part:
		return nil, fmt.Errorf("%s: journal says run %q part %d, labels say run %q part %d", where, sp.p.Run, sp.p.Part, run, part)
	case part == 1 && sp.p.Meta == nil:
		return nil, fmt.Errorf("%s: journal has no meta", where)
	case part == 1 && sp.p.Meta.RunID != run:
		return nil, fmt.Errorf("%s: meta is of run %q, label %s says %q", where, sp.p.Meta.RunID, LabelRun, run)
	case part > 1 && sp.p.Meta != nil:
		return nil, fmt.Errorf("%s: a continuation part holds a meta", where)
	}
	sp.es = make([]Entry, len(sp.p.Entries))
	for i, r := range sp.p.Entries {
		if err := json.Unmarshal(r, &sp.es[i]); err != nil {
			return nil, fmt.Errorf("%s: journal entry %d: %w", where, i+1, err)
		}
	}
	return sp, nil
}

func (s *secretStore) Create(ctx context.Context, m Meta) (Journal, error) {
	m = completeMeta(m, s.ns)
	p := secretPayload{Version: 1, Run: m.RunID, Part: 1, Meta: &m, Entries: []json.RawMessage{}}
	data, err := s.encode(&p)
	if err != nil {
		return nil, fmt.Errorf("the journal of run %s: %w", m.RunID, err)
	}
	obj := s.object(nil, &p, data)
	got, err := s.create(ctx, obj)
	if apierrors.IsAlreadyExists(err) {
		// A try whose reply was lost may have landed: that is ours only if
		// it holds exactly this meta and nothing else yet.
		if j, oerr := s.open(ctx, m.RunID); oerr == nil && j.first.p.Meta != nil &&
			listMeta(*j.first.p.Meta) == listMeta(m) && len(j.first.es) == 0 && j.first == j.last {
			return j, nil
		}
		return nil, fmt.Errorf("creating the journal %s: run %s exists already", s.where(obj.Name), m.RunID)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the journal %s: %w", s.where(obj.Name), err)
	}
	first := &secretPart{obj: got, p: p}
	return &secretJournal{writer: writer{meta: m, entryCap: s.entryCap}, store: s, run: m.RunID, first: first, last: first}, nil
}

// create stores a new part, retrying what a blip of the API server causes.
func (s *secretStore) create(ctx context.Context, obj *corev1.Secret) (*corev1.Secret, error) {
	var got *corev1.Secret
	err := transient(ctx, func(ctx context.Context) error {
		var err error
		got, err = s.client.CoreV1().Secrets(s.ns).Create(ctx, obj, metav1.CreateOptions{FieldManager: "cutover"})
		return err
	})
	return got, err
}

// completeMeta fills in what Create does not require of its caller.
func completeMeta(m Meta, ns string) Meta {
	if m.RunID == "" {
		m.RunID = NewRunID()
	}
	if m.Started.IsZero() {
		m.Started = time.Now().UTC()
	}
	if m.Namespace == "" {
		m.Namespace = ns
	}
	return m
}

func (s *secretStore) Open(ctx context.Context, runID string) (Journal, error) {
	j, err := s.open(ctx, runID)
	if err != nil {
		return nil, err
	}
	return j, nil
}

func (s *secretStore) open(ctx context.Context, runID string) (*secretJournal, error) {
	j := &secretJournal{writer: writer{meta: Meta{RunID: runID}, entryCap: s.entryCap}, store: s, run: runID}
	m, es, err := j.reload(ctx)
	if err != nil {
		return nil, err
	}
	j.meta, j.next = m, lastSeq(es)
	return j, nil
}

func (s *secretStore) List(ctx context.Context) ([]Meta, error) {
	return metas(s.runs(ctx))
}

func (s *secretStore) Prune(ctx context.Context, pipeline string, keep int) ([]string, error) {
	return prune(ctx, pipeline, keep, s.runs)
}

// runs lists the runs (and orphaned parts) of the namespace in one read.
// Objects that are not valid journals are left out.
func (s *secretStore) runs(ctx context.Context) ([]storedRun, error) {
	objMetas, err := s.listMeta(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the run journals (Secrets) in namespace %s: %w", s.ns, err)
	}
	var objs []kobj
	for i := range objMetas {
		o := &objMetas[i]
		k := kobj{name: o.Name, uid: o.UID, rv: o.ResourceVersion, run: o.Labels[LabelRun], part: o.Labels[LabelKind] == "part"}
		if !k.part {
			if err := json.Unmarshal([]byte(o.Annotations[AnnotationMeta]), &k.meta); err != nil || k.meta.RunID != k.run {
				continue
			}
		}
		objs = append(objs, k)
	}
	return group(objs, func(ctx context.Context, name string, pre metav1.Preconditions) error {
		return s.client.CoreV1().Secrets(s.ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &pre})
	}), nil
}

// listMeta lists the metadata of the namespace's journal Secrets (of the
// journal's type: the field selector is the server's, so a Secret of
// another type is never sent), without their data when s.meta is set.
func (s *secretStore) listMeta(ctx context.Context) ([]metav1.ObjectMeta, error) {
	opts := metav1.ListOptions{
		LabelSelector: LabelManagedBy + "=cutover," + LabelKind + " in (run,part)",
		FieldSelector: "type=" + string(SecretType),
	}
	var out []metav1.ObjectMeta
	err := transient(ctx, func(ctx context.Context) error {
		out = out[:0]
		if s.meta != nil {
			list, err := s.meta.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(s.ns).List(ctx, opts)
			if err != nil {
				return err
			}
			for _, it := range list.Items {
				out = append(out, it.ObjectMeta)
			}
			return nil
		}
		list, err := s.client.CoreV1().Secrets(s.ns).List(ctx, opts)
		if err != nil {
			return err
		}
		for _, it := range list.Items {
			if it.Type == SecretType { // a fake clientset ignores field selectors
				out = append(out, it.ObjectMeta)
			}
		}
		return nil
	})
	return out, err
}

// secretJournal keeps the run's first and last parts as last seen: the
// last takes appends, the first the meta (they are the same Secret until
// the journal outgrows one).
type secretJournal struct {
	writer
	store       *secretStore
	run         string
	first, last *secretPart
}

func (j *secretJournal) Append(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	return j.write(ctx, j, entries, nil)
}

func (j *secretJournal) SetStatus(ctx context.Context, status string, entries ...Entry) error {
	return j.write(ctx, j, entries, &status)
}

func (j *secretJournal) Entries(ctx context.Context) ([]Entry, error) {
	ps, err := j.read(ctx)
	if err != nil {
		return nil, err
	}
	return allEntries(ps, j.store.where(partName(j.run, 1)))
}

func allEntries(ps []*secretPart, where string) ([]Entry, error) {
	var es []Entry
	for _, p := range ps {
		es = append(es, p.es...)
	}
	return ordered(es, where)
}

// read returns the run's parts in order with a quorum read (a list without
// a resourceVersion), so it sees every acknowledged append.
func (j *secretJournal) read(ctx context.Context) ([]*secretPart, error) {
	s, run := j.store, j.run
	var list *corev1.SecretList
	err := transient(ctx, func(ctx context.Context) error {
		var err error
		list, err = s.client.CoreV1().Secrets(s.ns).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=cutover," + LabelRun + "=" + run})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the journal of run %s in namespace %s: %w", run, s.ns, err)
	}
	var ps []*secretPart
	for i := range list.Items {
		o := &list.Items[i]
		if k := o.Labels[LabelKind]; k != "run" && k != "part" {
			continue
		}
		p, err := s.decode(o, run)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	sort.Slice(ps, func(a, b int) bool { return ps[a].p.Part < ps[b].p.Part })
	if len(ps) == 0 || ps[0].p.Part != 1 {
		return nil, fmt.Errorf("run %s in namespace %s: %w", run, s.ns, ErrNotFound)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].p.Part == ps[i-1].p.Part {
			return nil, fmt.Errorf("%s and %s are both part %d of run %s", s.where(ps[i-1].obj.Name), s.where(ps[i].obj.Name), ps[i].p.Part, run)
		}
	}
	return ps, nil
}

func (j *secretJournal) reload(ctx context.Context) (Meta, []Entry, error) {
	ps, err := j.read(ctx)
	if err != nil {
		return Meta{}, nil, err
	}
	es, err := allEntries(ps, j.store.where(ps[0].obj.Name))
	if err != nil {
		return Meta{}, nil, err
	}
	j.first, j.last = ps[0], ps[len(ps)-1]
	return *j.first.p.Meta, es, nil
}

// fit returns how many of raws, added to base, fit in one part, and that
// part encoded, sealed when not all do.
func (j *secretJournal) fit(base secretPayload, raws []json.RawMessage) (int, []byte, secretPayload, error) {
	try := func(n int) ([]byte, secretPayload, error) {
		p := base
		p.Entries = append(append([]json.RawMessage{}, base.Entries...), raws[:n]...)
		p.Sealed = n < len(raws)
		data, err := j.store.encode(&p)
		return data, p, err
	}
	if data, p, err := try(len(raws)); err == nil {
		return len(raws), data, p, nil
	}
	// Binary search for the largest prefix that fits: compressed size
	// grows with the prefix.
	lo, hi := 0, len(raws)-1
	data, p, err := try(0)
	if err != nil {
		return 0, nil, p, err
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if d, q, err := try(mid); err == nil {
			lo, data, p = mid, d, q
		} else {
			hi = mid - 1
		}
	}
	return lo, data, p, nil
}

func (j *secretJournal) put(ctx context.Context, es []Entry, meta *Meta) (int, bool, error) {
	s := j.store
	raws := make([]json.RawMessage, len(es))
	for i, e := range es {
		b, err := json.Marshal(e)
		if err != nil {
			return 0, false, fmt.Errorf("journal entry %d of run %s: %w", e.Seq, j.run, err)
		}
		raws[i] = b
	}
	if j.last.p.Sealed {
		fresh := secretPayload{Version: 1, Run: j.run, Part: j.last.p.Part + 1, Entries: []json.RawMessage{}}
		n, data, p, err := j.fit(fresh, raws)
		if err != nil || n == 0 {
			return 0, false, j.tooBig(es[0], raws[0], err)
		}
		obj := s.object(nil, &p, data)
		got, err := s.create(ctx, obj)
		if err != nil {
			return 0, false, fmt.Errorf("writing the journal of run %s to %s: %w", j.run, s.where(obj.Name), err)
		}
		j.last = &secretPart{obj: got, p: p, es: es[:n]}
		return n, false, nil
	}
	var (
		n        int
		data     []byte
		p        secretPayload
		err      error
		withMeta bool
	)
	if meta != nil && j.last.p.Part == 1 {
		base := j.last.p
		base.Meta = meta
		n, data, p, err = j.fit(base, raws)
		withMeta = err == nil && n == len(raws)
	}
	if !withMeta {
		n, data, p, err = j.fit(j.last.p, raws)
	}
	if err != nil {
		return 0, false, fmt.Errorf("journal of run %s: %w", j.run, err)
	}
	if n == 0 {
		// An entry that does not fit even alone in a new part can never
		// be stored: say so before sealing anything.
		alone := secretPayload{Version: 1, Run: j.run, Part: j.last.p.Part + 1, Entries: raws[:1]}
		if _, err := s.encode(&alone); err != nil {
			return 0, false, j.tooBig(es[0], raws[0], err)
		}
	}
	got, err := j.update(ctx, j.last.obj, &p, data)
	if err != nil {
		return 0, false, err
	}
	last := &secretPart{obj: got, p: p, es: append(append([]Entry{}, j.last.es...), es[:n]...)}
	if last.p.Part == 1 {
		j.first = last
	}
	j.last = last
	return n, withMeta, nil
}

func (j *secretJournal) tooBig(e Entry, raw []byte, err error) error {
	return fmt.Errorf("journal entry %d of run %s (%s %s) is %d bytes and cannot be stored: %v; keep undo records smaller",
		e.Seq, j.run, e.Kind, e.Stage, len(raw), err)
}

func (j *secretJournal) putMeta(ctx context.Context, m Meta) error {
	p := j.first.p
	p.Meta = &m
	data, err := j.store.encode(&p)
	if err != nil {
		return fmt.Errorf("journal of run %s: %w", j.run, err)
	}
	got, err := j.update(ctx, j.first.obj, &p, data)
	if err != nil {
		return err
	}
	first := &secretPart{obj: got, p: p, es: j.first.es}
	if j.last == j.first {
		j.last = first
	}
	j.first = first
	return nil
}

// update writes part p over base, which carries the resourceVersion last
// seen: a Conflict means someone else wrote since.
func (j *secretJournal) update(ctx context.Context, base *corev1.Secret, p *secretPayload, data []byte) (*corev1.Secret, error) {
	s := j.store
	obj := s.object(base, p, data)
	var got *corev1.Secret
	err := transient(ctx, func(ctx context.Context) error {
		var err error
		got, err = s.client.CoreV1().Secrets(s.ns).Update(ctx, obj, metav1.UpdateOptions{FieldManager: "cutover"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("writing the journal of run %s to %s: %w", j.run, s.where(obj.Name), err)
	}
	return got, nil
}
