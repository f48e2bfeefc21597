package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cutoverhq/cutover/kube"
)

// countingTransport counts the HTTP requests that reach the API server.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// counted returns clients like cl whose every HTTP request (retries
// included: the only wrapper is the counter) adds to n.
func counted(t *testing.T, cl *kube.Clients, n *atomic.Int64) *kube.Clients {
	t.Helper()
	cfg := rest.CopyConfig(cl.Config)
	cfg.WrapTransport = nil
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, n} })
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &kube.Clients{Config: cfg, Typed: typed}
}

func TestSecretStoreEndToEnd(t *testing.T) {
	ctx, ns, clients := e2e(t)
	var requests atomic.Int64
	s := NewSecretStore(counted(t, clients(), &requests), ns)
	cost := func(what string, f func() error) {
		t.Helper()
		before := requests.Load()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		n := requests.Load() - before
		t.Logf("%s: %d request(s)", what, n)
		if n != 1 {
			t.Errorf("%s made %d requests, want 1", what, n)
		}
	}
	t0 := time.Now().UTC().Truncate(time.Second)
	var j Journal
	cost("Create", func() (err error) {
		j, err = s.Create(ctx, Meta{Pipeline: "checkout", Status: "running", Started: t0, Vars: map[string]string{"version": "v2"}})
		return err
	})
	id := j.Meta().RunID
	// Every acknowledged append is seen by a quorum read from another
	// process, at once.
	reader := NewSecretStore(clients(), ns)
	for i := 1; i <= 6; i++ {
		cost(fmt.Sprintf("Append %d", i), func() error { return j.Append(ctx, record(i, 10)) })
		j2, err := reader.Open(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		es, err := j2.Entries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkEntries(t, es, i)
	}
	cost("SetStatus", func() error {
		return j.SetStatus(ctx, "failed, undone", Entry{Kind: KindResult, Status: "failed, undone"})
	})

	j2, err := NewSecretStore(clients(), ns).Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m := j2.Meta(); m.Pipeline != "checkout" || m.Vars["version"] != "v2" || m.Status != "failed, undone" || !m.Started.Equal(t0) {
		t.Errorf("meta read back = %+v", m)
	}
	es, err := j2.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 7 || es[6].Kind != KindResult || es[6].Seq != 7 {
		t.Fatalf("entries read back: %+v", es)
	}
	checkEntries(t, es[:6], 6)

	// Stored as a Secret of its own type, gzipped JSON, labelled; no
	// ConfigMap.
	sec, err := clients().Typed.CoreV1().Secrets(ns).Get(ctx, "cutover-run-"+id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Type != SecretType {
		t.Errorf("type %q", sec.Type)
	}
	for k, v := range map[string]string{LabelManagedBy: "cutover", LabelKind: "run", LabelRun: id, LabelPipeline: "checkout", LabelStatus: "failed-undone"} {
		if sec.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, sec.Labels[k], v)
		}
	}
	p := gunzip(t, sec.Data[SecretKey])
	if p.Run != id || p.Part != 1 || p.Meta == nil || p.Meta.Status != "failed, undone" || len(p.Entries) != 7 {
		t.Errorf("decoded payload: run %s part %d meta %+v, %d entries", p.Run, p.Part, p.Meta, len(p.Entries))
	}
	cms, err := clients().Typed.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=cutover"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cms.Items) != 0 {
		t.Errorf("the Secret store made %d ConfigMaps", len(cms.Items))
	}

	// List: newest first, statuses as set.
	for _, c := range []struct {
		name  string
		start time.Time
	}{{"newest", t0.Add(time.Hour)}, {"mid", t0.Add(time.Minute)}} {
		if _, err := s.Create(ctx, Meta{Pipeline: c.name, Started: c.start, Status: "running"}); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := NewSecretStore(clients(), ns).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range runs {
		got = append(got, m.Pipeline+":"+m.Status)
	}
	if strings.Join(got, "|") != "newest:running|mid:running|checkout:failed, undone" {
		t.Errorf("List = %q", got)
	}
	if _, err := reader.Open(ctx, "no-such-run"); err == nil || !strings.Contains(err.Error(), ErrNotFound.Error()) {
		t.Errorf("Open of an unknown run: %v, want ErrNotFound", err)
	}
}

// Two processes appending to one run at once (a resume racing a job that
// was thought dead), across part boundaries: every entry of both is
// stored, under unique seqs, each writer's in its order; a stale writer
// never sets the status back. The clients have no retrying transport, so
// a conflict reaches the journal at once and the writers interleave.
func TestConcurrentAppendsFromTwoProcesses(t *testing.T) {
	ctx, ns, clients := e2e(t)
	for _, backend := range []string{BackendSecret, BackendConfigMap} {
		t.Run(backend, func(t *testing.T) {
			var requests, conflicts atomic.Int64
			store := func() Store {
				cl := counted(t, clients(), &requests)
				cl.Typed = conflictCounter(t, cl, &conflicts)
				s, err := NewClusterStore(cl, ns, backend)
				if err != nil {
					t.Fatal(err)
				}
				// Small parts, so the writers seal and start parts
				// while racing.
				s.(*clusterStore).secrets.limit = 2048
				s.(*clusterStore).cms.limit = 2048
				return s
			}
			j, err := store().Create(ctx, Meta{Pipeline: "race-" + backend, Status: "running"})
			if err != nil {
				t.Fatal(err)
			}
			id := j.Meta().RunID
			other, err := store().Open(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			writers := map[string]Journal{"a": j, "b": other}
			entry := func(w string, i int) Entry {
				data, _ := json.Marshal(fmt.Sprintf("%x", randomBytes(60)))
				return Entry{Kind: KindStage, Stage: fmt.Sprintf("%s%02d", w, i), Status: "started", Data: data}
			}
			// Taking turns, each writes on a stale view: every write
			// after the first meets a conflict.
			const turns = 4
			for i := 1; i <= turns; i++ {
				for _, w := range []string{"a", "b"} {
					if err := writers[w].Append(ctx, entry(w, i)); err != nil {
						t.Fatalf("writer %s, entry %d: %v", w, i, err)
					}
				}
			}
			if c := conflicts.Load(); c < 2*turns-1 {
				t.Errorf("%d conflicts while taking turns on stale views, want %d", c, 2*turns-1)
			}
			// At once; b appends two entries a time.
			const n = 24
			var wg sync.WaitGroup
			errs := make(chan error, 2)
			before, conflictsBefore := requests.Load(), conflicts.Load()
			for w, h := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := turns + 1; i <= n; i++ {
						batch := []Entry{entry(w, i)}
						if w == "b" && i < n {
							i++
							batch = append(batch, entry(w, i))
						}
						if err := h.Append(ctx, batch...); err != nil {
							errs <- fmt.Errorf("writer %s, entry %d: %w", w, i, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			t.Logf("%d entries from two writers at once: %d requests, %d conflicts", 2*(n-turns), requests.Load()-before, conflicts.Load()-conflictsBefore)
			es, err := j.Entries(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != 2*n {
				t.Fatalf("%d entries stored, want %d", len(es), 2*n)
			}
			next := map[byte]int{'a': 1, 'b': 1}
			for i, e := range es {
				if e.Seq != i+1 {
					t.Fatalf("entry %d has seq %d", i, e.Seq)
				}
				w := e.Stage[0]
				if want := fmt.Sprintf("%c%02d", w, next[w]); e.Stage != want {
					t.Fatalf("seq %d is %s, want %s: a writer's entries out of order or lost", e.Seq, e.Stage, want)
				}
				next[w]++
			}
			var objs int
			if backend == BackendSecret {
				l, _ := clients().Typed.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRun + "=" + id})
				objs = len(l.Items)
			} else {
				l, _ := clients().Typed.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRun + "=" + id})
				objs = len(l.Items)
			}
			if objs < 3 {
				t.Errorf("the race stayed within %d parts; the test wants it to cross part boundaries", objs)
			}

			// One handle ends the run; the other, still seeing "running",
			// appends: the status stays.
			if err := j.SetStatus(ctx, "succeeded"); err != nil {
				t.Fatal(err)
			}
			if err := other.Append(ctx, Entry{Kind: KindUndo, Stage: "late", Status: "started"}); err != nil {
				t.Fatal(err)
			}
			again, err := store().Open(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st := again.Meta().Status; st != "succeeded" {
				t.Errorf("status after a stale append = %q, want succeeded", st)
			}
			if es, _ := again.Entries(ctx); len(es) != 2*n+1 || es[2*n].Stage != "late" {
				t.Errorf("the late append is not the last entry: %d entries", len(es))
			}
		})
	}
}

// conflictCounter returns a typed client over cl's config counting the
// 409 answers.
func conflictCounter(t *testing.T, cl *kube.Clients, n *atomic.Int64) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(cl.Config)
	wrap := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return wrap(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(r)
			if err == nil && resp.StatusCode == http.StatusConflict {
				n.Add(1)
			}
			return resp, err
		}))
	}
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return typed
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Journals written by the ConfigMap store before the switch are listed
// and opened through the cluster store, next to Secret journals.
func TestClusterStoreReadsConfigMapJournals(t *testing.T) {
	ctx, ns, clients := e2e(t)
	t0 := time.Now().UTC().Truncate(time.Second)
	old, err := NewConfigMapStore(clients(), ns).Create(ctx, Meta{Pipeline: "checkout", Started: t0, Status: "running"})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Append(ctx, record(1, 10), record(2, 10)); err != nil {
		t.Fatal(err)
	}
	if err := old.SetStatus(ctx, "failed, undo incomplete", record(3, 10)); err != nil {
		t.Fatal(err)
	}
	cs, err := NewClusterStore(clients(), ns, "")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := cs.Create(ctx, Meta{Pipeline: "checkout", Started: t0.Add(time.Minute), Status: "running"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clients().Typed.CoreV1().Secrets(ns).Get(ctx, "cutover-run-"+fresh.Meta().RunID, metav1.GetOptions{}); err != nil {
		t.Errorf("the cluster store did not create a Secret: %v", err)
	}
	runs, err := cs.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].RunID != fresh.Meta().RunID || runs[1].RunID != old.Meta().RunID || runs[1].Status != "failed, undo incomplete" {
		t.Fatalf("List = %+v", runs)
	}
	j, err := cs.Open(ctx, old.Meta().RunID)
	if err != nil {
		t.Fatal(err)
	}
	// An undo of the old run goes on writing where it was written.
	if err := j.Append(ctx, record(4, 10)); err != nil {
		t.Fatal(err)
	}
	es, err := j.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, es, 4)
	if _, err := cs.Open(ctx, "no-such-run"); err == nil || !strings.Contains(err.Error(), ErrNotFound.Error()) {
		t.Errorf("Open of an unknown run: %v", err)
	}
	if _, err := NewClusterStore(clients(), ns, "etcd"); err == nil {
		t.Error("an unknown backend was accepted")
	}
}

func TestPruneKeepsTheNewestFinishedRuns(t *testing.T) {
	ctx, ns, clients := e2e(t)
	s, err := NewClusterStore(clients(), ns, "")
	if err != nil {
		t.Fatal(err)
	}
	cs := s.(*clusterStore)
	cs.secrets.limit, cs.secrets.entryCap = 1024, 512 // so runs have parts
	t0 := time.Now().UTC().Truncate(time.Second)
	var ids []string
	mk := func(st Store, pipeline string, age int, status string) string {
		t.Helper()
		j, err := st.Create(ctx, Meta{Pipeline: pipeline, Started: t0.Add(-time.Duration(age) * time.Minute), Status: "running"})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 6; i++ {
			e := record(i, 0)
			e.Data, _ = json.Marshal(map[string]any{"i": i, "pad": fmt.Sprintf("%x", randomBytes(200))})
			if err := j.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if status != "running" {
			if err := j.SetStatus(ctx, status); err != nil {
				t.Fatal(err)
			}
		}
		return j.Meta().RunID
	}
	// Oldest first: a run still going, four finished (one in the old
	// ConfigMap journal), the newest finished; another pipeline's.
	running := mk(s, "p", 60, "running")
	for age, st := range map[int]string{50: "succeeded", 40: "failed, undone", 30: "succeeded", 20: "succeeded", 10: "failed"} {
		store := s
		if age == 40 {
			store = NewConfigMapStore(clients(), ns)
		}
		ids = append(ids, fmt.Sprintf("%d:%s", age, mk(store, "p", age, st)))
	}
	otherPipeline := mk(s, "q", 70, "succeeded")
	byAge := map[string]string{}
	for _, x := range ids {
		age, id, _ := strings.Cut(x, ":")
		byAge[age] = id
	}
	parts, err := clients().Typed.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelKind + "=part," + LabelRun + "=" + byAge["50"]})
	if err != nil || len(parts.Items) == 0 {
		t.Fatalf("the oldest finished run has no parts (%v): the test needs some", err)
	}

	// A run written to after the list is kept: the delete's preconditions
	// fail.
	listed, err := cs.runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Open(ctx, byAge["50"])
	if err != nil {
		t.Fatal(err)
	}
	// (A write that changes nothing leaves the resourceVersion as it was.)
	if err := j.SetStatus(ctx, "failed, undone"); err != nil {
		t.Fatal(err)
	}
	for _, r := range listed {
		if r.meta.RunID == byAge["50"] {
			if err := r.remove(ctx); err == nil || !strings.Contains(err.Error(), errChanged.Error()) {
				t.Errorf("removing a run changed since listed: %v, want it refused", err)
			}
		}
	}
	if _, err := s.Open(ctx, byAge["50"]); err != nil {
		t.Fatalf("the changed run is gone: %v", err)
	}

	deleted, err := s.Prune(ctx, "p", 2)
	if err != nil {
		t.Fatal(err)
	}
	// The run in the ConfigMap format is another backend's: a prune after
	// every run costs one List, of the backend the run writes.
	want := byAge["30"] + "," + byAge["50"]
	if strings.Join(deleted, ",") != want {
		t.Errorf("Prune deleted %v, want %s", deleted, want)
	}
	runs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, m := range runs {
		left = append(left, m.RunID)
	}
	if strings.Join(left, ",") != strings.Join([]string{byAge["10"], byAge["20"], byAge["40"], running, otherPipeline}, ",") {
		t.Errorf("runs left %v", left)
	}
	for _, id := range strings.Split(want, ",") {
		sel := metav1.ListOptions{LabelSelector: LabelRun + "=" + id}
		secs, _ := clients().Typed.CoreV1().Secrets(ns).List(ctx, sel)
		cms, _ := clients().Typed.CoreV1().ConfigMaps(ns).List(ctx, sel)
		if len(secs.Items)+len(cms.Items) != 0 {
			t.Errorf("run %s left %d Secrets and %d ConfigMaps", id, len(secs.Items), len(cms.Items))
		}
	}
	if _, err := s.Prune(ctx, "p", 0); err == nil {
		t.Error("Prune with keep 0 was accepted")
	}
}

// The journal of a typical blue/green run, with undo records holding the
// real objects the API server returns, and what it costs to store.
func TestBlueGreenJournalSize(t *testing.T) {
	ctx, ns, clients := e2e(t)
	cl := clients()
	replicas := int32(2)
	labels := map[string]string{"app": "demo", "version": "v1"}
	blue := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-v1", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "demo", Image: "bebullish/demo:v1",
					Ports:          []corev1.ContainerPort{{ContainerPort: 8080}},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 2},
					Lifecycle:      &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "5"}}}},
				}}},
			},
		},
	}
	if _, err := cl.Typed.AppsV1().Deployments(ns).Create(ctx, blue, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "demo"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if _, err := cl.Typed.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The records are what steps capture: kube.Snapshot of the live
	// objects.
	snap := func(apiVersion, kind, resource, name string) json.RawMessage {
		sn, _, err := cl.Capture(ctx, kube.Ref{APIVersion: apiVersion, Kind: kind, Resource: resource, Namespace: ns, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(sn)
		return b
	}
	absent := snap("apps/v1", "Deployment", "deployments", "demo-v2")
	out := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	stage := func(name, status string, data json.RawMessage) Entry {
		return Entry{Kind: KindStage, Stage: name, Status: status, Attempt: 1, Data: data}
	}
	entries := []Entry{
		stage("lint", "started", nil), stage("lint", "succeeded", out(map[string]any{"warnings": []string{}})),
		stage("service", "skipped", nil),
		stage("deploy_green", "started", nil), {Kind: KindRecord, Stage: "deploy_green", Attempt: 1, Data: absent},
		stage("deploy_green", "succeeded", out(map[string]any{"objects": []string{"Deployment/demo-v2"}})),
		stage("green_ready", "started", nil), stage("green_ready", "succeeded", out(map[string]any{"ready_pods": 2, "restarts": 0, "samples": 1})),
		stage("verify_green", "skipped", nil),
		stage("switch", "started", nil), {Kind: KindRecord, Stage: "switch", Attempt: 1, Data: snap("v1", "Service", "services", "demo")},
		stage("switch", "succeeded", out(map[string]any{"previous": map[string]string{"app": "demo", "version": "v1"}})),
		stage("verify_live", "skipped", nil), stage("watch", "skipped", nil),
		stage("retire_blue", "started", nil), {Kind: KindRecord, Stage: "retire_blue", Attempt: 1, Data: snap("apps/v1", "Deployment", "deployments", "demo-v1")},
		stage("retire_blue", "succeeded", out(map[string]any{"replicas": 0})),
	}
	s := NewSecretStore(cl, ns)
	j, err := s.Create(ctx, Meta{Pipeline: "blue-green-service", Status: "running", Holder: "ci@runner", Lock: "demo",
		Vars: map[string]string{"app": "demo", "version": "v2", "replicas": "2", "initial": "false"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := j.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.SetStatus(ctx, "succeeded", Entry{Kind: KindResult, Status: "succeeded"}); err != nil {
		t.Fatal(err)
	}
	sec, err := cl.Typed.CoreV1().Secrets(ns).Get(ctx, "cutover-run-"+j.Meta().RunID, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := gunzip(t, sec.Data[SecretKey])
	raw, _ := json.Marshal(p)
	t.Logf("blue/green journal: %d entries, %d bytes of JSON, %d bytes stored (gzip), %d bytes of meta annotation",
		len(p.Entries), len(raw), len(sec.Data[SecretKey]), len(sec.Annotations[AnnotationMeta]))
	if len(sec.Data[SecretKey]) >= len(raw) {
		t.Errorf("gzip did not shrink the journal: %d ≥ %d", len(sec.Data[SecretKey]), len(raw))
	}
}

// On the API server too, an output of 1.5 MiB (over what one object holds)
// does not stop the journal: it is stored truncated and the run ends with
// its real status.
func TestOversizedOutputOnTheCluster(t *testing.T) {
	ctx, ns, clients := e2e(t)
	big, _ := json.Marshal(fmt.Sprintf("%x", randomBytes(3<<18))) // 1.5 MiB
	for _, backend := range []string{BackendSecret, BackendConfigMap} {
		s, err := NewClusterStore(clients(), ns, backend)
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.Create(ctx, Meta{Pipeline: "big-" + backend, Status: "running"})
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Append(ctx, Entry{Kind: KindStage, Stage: "smoke", Status: "succeeded", Data: big}); err != nil {
			t.Fatalf("%s: %v", backend, err)
		}
		if err := j.SetStatus(ctx, "succeeded", Entry{Kind: KindResult, Status: "succeeded"}); err != nil {
			t.Fatalf("%s: %v", backend, err)
		}
		j2, err := s.Open(ctx, j.Meta().RunID)
		if err != nil {
			t.Fatal(err)
		}
		es, err := j2.Entries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var marker truncated
		_ = json.Unmarshal(es[0].Data, &marker)
		if j2.Meta().Status != "succeeded" || len(es) != 2 || !marker.Truncated || marker.Bytes != len(big) || es[1].Kind != KindResult {
			t.Errorf("%s: status %q, %d entries, first data %.80s", backend, j2.Meta().Status, len(es), es[0].Data)
		}
	}
}

// Listing runs (status, history, prune) reads metadata only: every list
// of Secrets is answered with PartialObjectMetadata, which carries no data.
func TestListingRunsReadsNoSecretData(t *testing.T) {
	ctx, ns, clients := e2e(t)
	cl := clients()
	w, err := NewClusterStore(cl, ns, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		j, err := w.Create(ctx, Meta{Pipeline: "p", Started: time.Now().Add(time.Duration(-i) * time.Minute), Status: "running"})
		if err != nil {
			t.Fatal(err)
		}
		if err := j.SetStatus(ctx, "succeeded", Entry{Kind: KindStage, Stage: "s", Status: "succeeded", Message: "payload-7Hk2"}); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	var lists []string // the bodies of every list of Secrets
	cfg := rest.CopyConfig(cl.Config)
	wrap := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return wrap(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(r)
			if err != nil || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/secrets") {
				return resp, err
			}
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			if rerr != nil {
				return nil, rerr
			}
			mu.Lock()
			lists = append(lists, string(body))
			mu.Unlock()
			return resp, nil
		}))
	}
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewClusterStore(&kube.Clients{Config: cfg, Typed: typed}, ns, "")
	if err != nil {
		t.Fatal(err)
	}
	metas, err := s.List(ctx)
	if err != nil || len(metas) != 3 {
		t.Fatalf("List: %d runs, %v; want 3", len(metas), err)
	}
	deleted, err := s.Prune(ctx, "p", 1)
	if err != nil || len(deleted) != 2 {
		t.Fatalf("Prune deleted %v, %v; want 2 runs", deleted, err)
	}
	if len(lists) == 0 {
		t.Fatal("no list of Secrets seen")
	}
	for _, body := range lists {
		// JSON or protobuf, the kind is spelt out in the answer.
		if !strings.Contains(body, "PartialObjectMetadataList") || strings.Contains(body, "SecretList") {
			t.Errorf("a list of Secrets is not metadata-only: %q", body[:min(len(body), 200)])
		}
	}
}
