package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/kube"
)

// The stores are tested on the shared real control plane; TestMain stops
// it when the tests are done.
func TestMain(m *testing.M) { testcluster.Main(m, nil) }

// e2e returns a namespace and a function building fresh clients for it, so
// a test can play a second process that opens what the first wrote.
func e2e(t *testing.T) (context.Context, string, func() *kube.Clients) {
	t.Helper()
	ctx, ns, kubeconfig := testcluster.Namespace(t, "journal", 3*time.Minute)
	return ctx, ns, func() *kube.Clients {
		cl, err := kube.New(kube.Options{Kubeconfig: kubeconfig}).Clients()
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
}

func record(i int, size int) Entry {
	data, _ := json.Marshal(map[string]any{"i": i, "pad": strings.Repeat("x", size)})
	return Entry{Kind: KindRecord, Stage: fmt.Sprintf("s%d", i), Attempt: 1, Data: data}
}

func checkEntries(t *testing.T, es []Entry, n int) {
	t.Helper()
	if len(es) != n {
		t.Fatalf("read back %d entries, want %d", len(es), n)
	}
	for i, e := range es {
		var d struct{ I int }
		_ = json.Unmarshal(e.Data, &d)
		if e.Seq != i+1 || d.I != i+1 || e.Stage != fmt.Sprintf("s%d", i+1) {
			t.Fatalf("entry %d: seq %d, data %s, stage %s", i, e.Seq, e.Data, e.Stage)
		}
	}
}

func TestConfigMapStoreSurvivesANewProcess(t *testing.T) {
	ctx, ns, clients := e2e(t)
	first := NewConfigMapStore(clients(), ns)
	j, err := first.Create(ctx, Meta{Pipeline: "checkout", Status: "running", Vars: map[string]string{"version": "v2"}})
	if err != nil {
		t.Fatal(err)
	}
	id := j.Meta().RunID
	for i := 1; i <= 5; i += 2 {
		if err := j.Append(ctx, record(i, 10), record(i+1, 10)); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh store with fresh clients: what a resumed run after SIGKILL sees.
	second := NewConfigMapStore(clients(), ns)
	j2, err := second.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m := j2.Meta(); m.Pipeline != "checkout" || m.Vars["version"] != "v2" || m.Status != "running" {
		t.Errorf("meta read back = %+v", m)
	}
	es, err := j2.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, es, 6)
	if err := j2.Append(ctx, record(7, 10)); err != nil {
		t.Fatal(err)
	}
	es, err = j.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, es, 7)

	cm, err := clients().Typed.CoreV1().ConfigMaps(ns).Get(ctx, "cutover-run-"+id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{LabelManagedBy: "cutover", LabelRun: id, LabelPipeline: "checkout", LabelStatus: "running"} {
		if cm.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cm.Labels[k], v)
		}
	}
	if _, err := second.Open(ctx, "no-such-run"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open of an unknown run: %v, want ErrNotFound", err)
	}
}

func TestConfigMapStoreSpillsToContinuations(t *testing.T) {
	ctx, ns, clients := e2e(t)
	small := func() *cmStore {
		s := newConfigMapStore(clients().Typed, ns)
		s.limit = 2048
		return s
	}
	j, err := small().Create(ctx, Meta{Pipeline: "big"})
	if err != nil {
		t.Fatal(err)
	}
	id := j.Meta().RunID
	// ~330 bytes an entry: six fit in a 2 KiB part.
	if err := j.Append(ctx, record(1, 200)); err != nil {
		t.Fatal(err)
	}
	var batch []Entry
	for i := 2; i <= 20; i++ {
		batch = append(batch, record(i, 200))
	}
	if err := j.Append(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	list, err := clients().Typed.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRun + "=" + id})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) < 3 {
		t.Fatalf("20 entries of ~330 bytes with a 2 KiB limit made %d ConfigMaps, want at least 3", len(list.Items))
	}
	for _, cm := range list.Items {
		if dataSize(cm.Data) > 2048 {
			t.Errorf("ConfigMap %s holds %d bytes, over the limit", cm.Name, dataSize(cm.Data))
		}
	}
	// A new process continues in the last part and reads everything back.
	j2, err := small().Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for i := 21; i <= 25; i++ {
		if err := j2.Append(ctx, record(i, 200)); err != nil {
			t.Fatal(err)
		}
	}
	j3, err := NewConfigMapStore(clients(), ns).Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	es, err := j3.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, es, 25)
	// Continuations are not runs of their own.
	runs, err := NewConfigMapStore(clients(), ns).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].RunID != id {
		t.Errorf("List = %+v, want only run %s", runs, id)
	}
	if err := j2.Append(ctx, record(26, 4096)); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("an entry over the limit must be refused with its size, got %v", err)
	}
}

func TestConfigMapStoreListNewestFirstWithStatus(t *testing.T) {
	ctx, ns, clients := e2e(t)
	s := NewConfigMapStore(clients(), ns)
	t0 := time.Now().UTC().Truncate(time.Second)
	ids := map[string]string{}
	for _, name := range []string{"old", "newest", "mid"} {
		start := map[string]time.Time{"old": t0, "mid": t0.Add(time.Minute), "newest": t0.Add(time.Hour)}[name]
		j, err := s.Create(ctx, Meta{Pipeline: name, Started: start, Status: "running"})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = j.Meta().RunID
		if name == "old" {
			if err := j.SetStatus(ctx, "failed, undone"); err != nil {
				t.Fatal(err)
			}
		}
	}
	runs, err := NewConfigMapStore(clients(), ns).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range runs {
		got = append(got, m.Pipeline+":"+m.Status)
	}
	if strings.Join(got, "|") != "newest:running|mid:running|old:failed, undone" {
		t.Errorf("List = %q", got)
	}
	// history can select by status with a label selector.
	sel := LabelStatus + "=failed-undone"
	list, err := clients().Typed.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Labels[LabelRun] != ids["old"] {
		t.Errorf("selector %s matched %d ConfigMaps, want the old run", sel, len(list.Items))
	}
}
