package journal

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// verbs returns "verb resource" for every request the fake client saw
// since the last ClearActions.
func verbs(c *fake.Clientset) []string {
	var out []string
	for _, a := range c.Actions() {
		out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
	}
	c.ClearActions()
	return out
}

func gunzip(t *testing.T, b []byte) secretPayload {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("stored journal is not gzip: %v", err)
	}
	var p secretPayload
	if err := json.NewDecoder(zr).Decode(&p); err != nil {
		t.Fatalf("stored journal is not JSON: %v", err)
	}
	return p
}

// Create, an append and the end of a run are one request each, and a new
// process reads the run back with one.
func TestSecretStoreOneRequestPerWrite(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	s := newSecretStore(client, "ns")
	j, err := s.Create(ctx, Meta{Pipeline: "checkout", Status: "running", Vars: map[string]string{"version": "v2"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := verbs(client); strings.Join(got, ",") != "create secrets" {
		t.Errorf("Create made %q", got)
	}
	if err := j.Append(ctx, Entry{Kind: KindStage, Stage: "deploy", Status: "started"}, record(1, 10)); err != nil {
		t.Fatal(err)
	}
	if got := verbs(client); strings.Join(got, ",") != "update secrets" {
		t.Errorf("Append made %q", got)
	}
	if err := j.SetStatus(ctx, "succeeded", Entry{Kind: KindResult, Status: "succeeded"}); err != nil {
		t.Fatal(err)
	}
	if got := verbs(client); strings.Join(got, ",") != "update secrets" {
		t.Errorf("SetStatus made %q", got)
	}
	id := j.Meta().RunID
	sec, err := client.CoreV1().Secrets("ns").Get(ctx, "cutover-run-"+id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Type != SecretType || sec.Labels[LabelStatus] != "succeeded" || sec.Labels[LabelKind] != "run" || sec.Labels[LabelPipeline] != "checkout" {
		t.Errorf("type %q, labels %v", sec.Type, sec.Labels)
	}
	p := gunzip(t, sec.Data[SecretKey])
	if p.Meta == nil || p.Meta.Status != "succeeded" || p.Meta.Vars["version"] != "v2" || len(p.Entries) != 3 {
		t.Errorf("stored payload: meta %+v, %d entries", p.Meta, len(p.Entries))
	}
	if strings.Contains(sec.Annotations[AnnotationMeta], "v2") {
		t.Errorf("the meta annotation carries the vars: %s", sec.Annotations[AnnotationMeta])
	}
	verbs(client)

	j2, err := newSecretStore(client, "ns").Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	es, err := j2.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := verbs(client); strings.Join(got, ",") != "list secrets,list secrets" {
		t.Errorf("Open and Entries made %q", got)
	}
	if len(es) != 3 || es[2].Kind != KindResult || es[2].Seq != 3 || j2.Meta().Vars["version"] != "v2" {
		t.Errorf("read back %+v, meta %+v", es, j2.Meta())
	}
	if cms, _ := client.CoreV1().ConfigMaps("ns").List(ctx, metav1.ListOptions{}); len(cms.Items) != 0 {
		t.Errorf("the Secret store made %d ConfigMaps", len(cms.Items))
	}
}

// An output far over the cap is stored truncated, and the entries after
// it and the final status still land; an undo record that cannot be
// stored is an error.
func TestOversizedOutputIsTruncated(t *testing.T) {
	ctx := context.Background()
	big, _ := json.Marshal(map[string]string{"log": strings.Repeat("y", 3<<19)}) // 1.5 MiB
	for name, s := range map[string]Store{
		"secret":    newSecretStore(fake.NewClientset(), "ns"),
		"configmap": newConfigMapStore(fake.NewClientset(), "ns"),
		"memory":    NewMemoryStore(),
	} {
		t.Run(name, func(t *testing.T) {
			j, err := s.Create(ctx, Meta{Pipeline: "p", Status: "running"})
			if err != nil {
				t.Fatal(err)
			}
			out := Entry{Kind: KindStage, Stage: "smoke", Status: "succeeded", Data: big}
			if err := j.Append(ctx, out, Entry{Kind: KindStage, Stage: "switch", Status: "started"}); err != nil {
				t.Fatal(err)
			}
			if err := j.SetStatus(ctx, "succeeded", Entry{Kind: KindResult, Status: "succeeded"}); err != nil {
				t.Fatal(err)
			}
			j2, err := s.Open(ctx, j.Meta().RunID)
			if err != nil {
				t.Fatal(err)
			}
			es, err := j2.Entries(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if j2.Meta().Status != "succeeded" || len(es) != 3 || es[1].Stage != "switch" || es[2].Kind != KindResult {
				t.Fatalf("status %q, entries %+v", j2.Meta().Status, es)
			}
			if name == "memory" {
				return // nothing to bound: the process holds it
			}
			var marker truncated
			if err := json.Unmarshal(es[0].Data, &marker); err != nil || !marker.Truncated || marker.Bytes != len(big) {
				t.Errorf("output stored as %.100s", es[0].Data)
			}
			if !strings.Contains(es[0].Message, "truncated") {
				t.Errorf("message %q does not say the data was truncated", es[0].Message)
			}
			// gzip cannot shrink random bytes below the 900 KiB a Secret
			// holds.
			noise, _ := json.Marshal(randomBytes(3 << 19))
			rec := Entry{Kind: KindRecord, Stage: "switch", Data: noise}
			if err := j.Append(ctx, rec); err == nil || !strings.Contains(err.Error(), "cannot be stored") && !strings.Contains(err.Error(), "at most") {
				t.Errorf("an undo record too large to store: %v, want an error", err)
			}
		})
	}
}

// A journal outgrowing a Secret continues in parts a new process finds,
// reads in order and appends to.
func TestSecretStoreSpillsToParts(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	small := func() *secretStore {
		s := newSecretStore(client, "ns")
		s.limit, s.entryCap = 1024, 512
		return s
	}
	j, err := small().Create(ctx, Meta{Pipeline: "big"})
	if err != nil {
		t.Fatal(err)
	}
	id := j.Meta().RunID
	// Random-looking pads so gzip cannot make them small.
	pad := func(i int) Entry {
		e := record(i, 0)
		e.Data, _ = json.Marshal(map[string]any{"i": i, "pad": fmt.Sprintf("%x", randomBytes(100))})
		return e
	}
	var batch []Entry
	for i := 1; i <= 20; i++ {
		batch = append(batch, pad(i))
	}
	if err := j.Append(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	list, err := client.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{LabelSelector: LabelRun + "=" + id})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) < 3 {
		t.Fatalf("20 entries with a 1 KiB limit made %d Secrets, want at least 3", len(list.Items))
	}
	for _, sec := range list.Items {
		if n := len(sec.Data[SecretKey]); n > 1024 {
			t.Errorf("Secret %s holds %d bytes, over the limit", sec.Name, n)
		}
	}
	j2, err := small().Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for i := 21; i <= 25; i++ {
		if err := j2.Append(ctx, pad(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j2.SetStatus(ctx, "succeeded"); err != nil {
		t.Fatal(err)
	}
	es, err := newSecretStore(client, "ns").openEntries(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, es, 25)
	runs, err := newSecretStore(client, "ns").List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].RunID != id || runs[0].Status != "succeeded" {
		t.Errorf("List = %+v, want only run %s, succeeded", runs, id)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func (s *secretStore) openEntries(ctx context.Context, id string) ([]Entry, error) {
	j, err := s.Open(ctx, id)
	if err != nil {
		return nil, err
	}
	return j.Entries(ctx)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// What Open reads is input from whoever may write Secrets in the
// namespace: anything that is not a well-formed journal of that run is
// refused with the object named, without panicking.
func TestSecretStoreRefusesWhatIsNotItsJournal(t *testing.T) {
	ctx := context.Background()
	payload := func(run string, meta *Meta, entries ...string) []byte {
		var raws []json.RawMessage
		for _, e := range entries {
			raws = append(raws, json.RawMessage(e))
		}
		b, _ := json.Marshal(secretPayload{Version: 1, Run: run, Part: 1, Meta: meta, Entries: raws})
		return gz(b)
	}
	labels := map[string]string{LabelManagedBy: "cutover", LabelKind: "run", LabelRun: "r1"}
	meta := &Meta{RunID: "r1", Pipeline: "p", Status: "running"}
	bomb := gz(make([]byte, 17<<20))
	cases := map[string]struct {
		typ  corev1.SecretType
		data []byte
		want string
	}{
		"opaque":        {corev1.SecretTypeOpaque, payload("r1", meta), "has type"},
		"not gzip":      {SecretType, []byte("{}"), "not gzip"},
		"cut gzip":      {SecretType, gz(randomBytes(4096))[:2048], "does not decompress"},
		"not json":      {SecretType, gz([]byte("{nope")), "not valid JSON"},
		"bomb":          {SecretType, bomb, "more than"},
		"other run":     {SecretType, payload("r1", &Meta{RunID: "r2"}), `meta is of run "r2"`},
		"no meta":       {SecretType, payload("r1", nil), "no meta"},
		"duplicate seq": {SecretType, payload("r1", meta, `{"seq":1,"kind":"stage"}`, `{"seq":1,"kind":"record"}`), "seq 1"},
		"bad entry":     {SecretType, payload("r1", meta, `[1]`), "entry 1"},
		"no data":       {SecretType, nil, "no data key"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset()
			sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cutover-run-r1", Namespace: "ns", Labels: labels}, Type: c.typ}
			if c.data != nil {
				sec.Data = map[string][]byte{SecretKey: c.data}
			}
			if _, err := client.CoreV1().Secrets("ns").Create(ctx, sec, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			_, err := newSecretStore(client, "ns").Open(ctx, "r1")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "ns/cutover-run-r1") {
				t.Fatalf("Open: %v; want an error naming the Secret and saying %q", err, c.want)
			}
			if errors.Is(err, ErrNotFound) {
				t.Errorf("a bad journal is not a missing one: %v", err)
			}
		})
	}
	if len(bomb) > 64<<10 {
		t.Fatalf("the bomb is %d bytes compressed; the test wants a small one", len(bomb))
	}
}

// A ConfigMap journal whose entries claim two seqs, or whose meta is of
// another run, is refused likewise.
func TestConfigMapStoreRefusesWhatIsNotItsJournal(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]struct {
		meta string
		data map[string]string
		want string
	}{
		"other run":  {`{"run":"r2"}`, nil, `meta is of run "r2"`},
		"bad meta":   {`{`, nil, "not a cutover journal"},
		"wrong seq":  {`{"run":"r1"}`, map[string]string{"e000001": `{"seq":2}`}, "has seq 2"},
		"bad entry":  {`{"run":"r1"}`, map[string]string{"e000001": `nope`}, "e000001"},
		"dup across": {`{"run":"r1"}`, map[string]string{"e000001": `{"seq":1}`}, "seq 1"},
	} {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset()
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cutover-run-r1", Namespace: "ns",
				Labels:      map[string]string{LabelManagedBy: "cutover", LabelKind: "run", LabelRun: "r1"},
				Annotations: map[string]string{AnnotationMeta: c.meta}}, Data: c.data}
			_, _ = client.CoreV1().ConfigMaps("ns").Create(ctx, cm, metav1.CreateOptions{})
			if name == "dup across" {
				part := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cutover-run-r1-2", Namespace: "ns",
					Labels: map[string]string{LabelManagedBy: "cutover", LabelKind: "part", LabelRun: "r1", LabelPart: "2"}},
					Data: map[string]string{"e000001": `{"seq":1}`}}
				_, _ = client.CoreV1().ConfigMaps("ns").Create(ctx, part, metav1.CreateOptions{})
			}
			_, err := newConfigMapStore(client, "ns").Open(ctx, "r1")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "cutover-run-r1") {
				t.Fatalf("Open: %v; want an error naming the ConfigMap and saying %q", err, c.want)
			}
		})
	}
}

// The ConfigMap journal's writes carry the resourceVersion last seen.
func TestConfigMapWritesCarryTheResourceVersion(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	j, err := newConfigMapStore(client, "ns").Create(ctx, Meta{Pipeline: "p", Status: "running"})
	if err != nil {
		t.Fatal(err)
	}
	cm, _ := client.CoreV1().ConfigMaps("ns").Get(ctx, partName(j.Meta().RunID, 1), metav1.GetOptions{})
	cm.ResourceVersion = "41"
	if _, err := client.CoreV1().ConfigMaps("ns").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	j2, err := newConfigMapStore(client, "ns").Open(ctx, j.Meta().RunID)
	if err != nil {
		t.Fatal(err)
	}
	client.ClearActions()
	if err := j2.Append(ctx, record(1, 1)); err != nil {
		t.Fatal(err)
	}
	acts := client.Actions()
	if len(acts) != 1 {
		t.Fatalf("Append made %d requests", len(acts))
	}
	patch := string(acts[0].(k8stesting.PatchAction).GetPatch())
	if !strings.Contains(patch, `"resourceVersion":"41"`) {
		t.Errorf("the patch %s carries no resourceVersion precondition", patch)
	}
}

// A write that landed although its reply was lost (the retry then meets
// Conflict, its own write having changed the resourceVersion) is
// recognised after the re-read and not stored a second time.
func TestLandedWriteIsNotRepeated(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	j, err := newSecretStore(client, "ns").Create(ctx, Meta{Pipeline: "p", Status: "running"})
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	client.PrependReactor("update", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if lost > 0 {
			return false, nil, nil
		}
		lost++
		obj := a.(k8stesting.UpdateAction).GetObject()
		if err := client.Tracker().Update(a.GetResource(), obj, "ns"); err != nil {
			t.Fatal(err)
		}
		return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), "cutover-run-x", errors.New("the object has been modified"))
	})
	if err := j.Append(ctx, record(1, 1), record(2, 1)); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(ctx, record(3, 1)); err != nil {
		t.Fatal(err)
	}
	es, err := j.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, es, 3)
	if lost != 1 {
		t.Fatalf("the reactor lost %d replies", lost)
	}
}

func TestMemoryStorePrune(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, st := range []string{"running", "succeeded", "failed", "succeeded", "succeeded"} {
		j, err := s.Create(ctx, Meta{RunID: fmt.Sprintf("r%d", i), Pipeline: "p", Started: t0.Add(time.Duration(i) * time.Minute), Status: "running"})
		if err != nil {
			t.Fatal(err)
		}
		if err := j.SetStatus(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(ctx, Meta{RunID: "other", Pipeline: "q", Started: t0, Status: "succeeded"}); err != nil {
		t.Fatal(err)
	}
	deleted, err := s.Prune(ctx, "p", 2)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(deleted, ",") != "r2,r1" {
		t.Errorf("deleted %v, want r2,r1", deleted)
	}
	runs, _ := s.List(ctx)
	var left []string
	for _, m := range runs {
		left = append(left, m.RunID)
	}
	if strings.Join(left, ",") != "r4,r3,r0,other" {
		t.Errorf("left %v", left)
	}
	if _, err := s.Prune(ctx, "p", 0); err == nil {
		t.Error("keep 0 was accepted")
	}
}
