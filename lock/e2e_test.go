package lock

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/kube"
)

// The Lease locker is tested on the shared real control plane; TestMain
// stops it when the tests are done.
func TestMain(m *testing.M) { testcluster.Main(m, nil) }

// e2e returns a namespace and a function building fresh clients for it:
// each locker plays a separate process.
func e2e(t *testing.T) (context.Context, string, func() *kube.Clients) {
	t.Helper()
	ctx, ns, kubeconfig := testcluster.Namespace(t, "lock", 3*time.Minute)
	return ctx, ns, func() *kube.Clients {
		cl, err := kube.New(kube.Options{Kubeconfig: kubeconfig}).Clients()
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
}

// fast is a locker with short durations: a holder renews every ~0.67s,
// gives up after 1.3s without renewal, and is taken over after 2s unseen.
func fast(cl *kube.Clients, ns string) *LeaseLocker {
	l := NewLeaseLocker(cl, ns)
	l.LeaseDuration, l.RenewDeadline, l.RetryPeriod = 2*time.Second, 1300*time.Millisecond, 400*time.Millisecond
	return l
}

func currentHolder(t *testing.T, ctx context.Context, cl *kube.Clients, ns, name string) Holder {
	t.Helper()
	l, err := cl.Typed.CoordinationV1().Leases(ns).Get(ctx, leaseName(name), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return decodeHolder(holderOf(l))
}

// recorder collects what OnWait is told.
type recorder struct {
	mu   sync.Mutex
	msgs []string
	told chan struct{}
}

func newRecorder() *recorder { return &recorder{told: make(chan struct{}, 16)} }

func (r *recorder) onWait(msg string) {
	r.mu.Lock()
	r.msgs = append(r.msgs, msg)
	r.mu.Unlock()
	r.told <- struct{}{}
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func TestLeaseContention(t *testing.T) {
	ctx, ns, clients := e2e(t)
	// The holder renews every 2s and writes a 6s lease: longer than the
	// waiter's own 2s, which the waiter must respect.
	a := NewLeaseLocker(clients(), ns)
	a.LeaseDuration, a.RenewDeadline, a.RetryPeriod = 6*time.Second, 4*time.Second, time.Second
	b := fast(clients(), ns)
	ha, hb := Holder{RunID: "run-a", Who: "https://ci.example/a"}, Holder{RunID: "run-b", Who: "https://ci.example/b"}

	la, err := a.Acquire(ctx, "checkout", ha, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Acquire(ctx, "checkout", hb, Options{})
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want *HeldError", err)
	}
	if held.Holder != ha || held.Name != "checkout" || held.Renewed.IsZero() {
		t.Errorf("HeldError = %+v, want %v holding checkout, seen renewing", held, ha)
	}
	if !strings.Contains(err.Error(), `lock "checkout" is held by run run-a (https://ci.example/a)`) {
		t.Errorf("HeldError says %q", err)
	}

	// A waiter gets the lock from the watch as soon as it is released. The
	// bound is shorter than the holder's 6s lease: a waiter that missed the
	// release would still be waiting for it to expire.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rec := newRecorder()
	got := make(chan result, 1)
	go func() {
		lk, err := b.Acquire(wctx, "checkout", hb, Options{Wait: time.Minute, OnWait: rec.onWait})
		got <- result{lk, err}
	}()
	select {
	case <-rec.told:
	case r := <-got:
		t.Fatalf("waiting Acquire returned before the lock was released: %v", r.err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("waiting Acquire after Release: %v", r.err)
	}
	defer r.lock.Release(ctx)
	if msgs := rec.all(); len(msgs) != 1 || !strings.HasPrefix(msgs[0], `waiting up to 1m0s for lock "checkout" held by run run-a (https://ci.example/a), renewed `) {
		t.Errorf("OnWait told %q", msgs)
	}
	if h := currentHolder(t, ctx, clients(), ns, "checkout"); h != hb {
		t.Errorf("lease holder = %+v, want %+v", h, hb)
	}
}

// A resumed run (same run id, another process) must not take the lock
// from the process still renewing it.
func TestLeaseResumedRunRefusedWhileAlive(t *testing.T) {
	ctx, ns, clients := e2e(t)
	first := Holder{RunID: "run-1", Who: "root@ci (pid 10)"}
	lk, err := fast(clients(), ns).Acquire(ctx, "shop", first, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release(ctx)
	_, err = fast(clients(), ns).Acquire(ctx, "shop", Holder{RunID: "run-1", Who: "root@ci (pid 20)"}, Options{})
	var held *HeldError
	if !errors.As(err, &held) || held.Holder != first {
		t.Fatalf("resumed Acquire: %v, want *HeldError naming %v", err, first)
	}
	if h := currentHolder(t, ctx, clients(), ns, "shop"); h != first {
		t.Errorf("holder = %+v, want %+v", h, first)
	}
}

// A holder killed without releasing (it just stops renewing) is taken
// over, but not before one lease duration on the taker's clock.
func TestLeaseKilledHolderTakenOver(t *testing.T) {
	ctx, ns, clients := e2e(t)
	dead := Holder{RunID: "run-1", Who: "root@ci (pid 10)"}
	lk, err := fast(clients(), ns).Acquire(ctx, "shop", dead, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kill(lk)

	taker := fast(clients(), ns)
	resumed := Holder{RunID: "run-1", Who: "root@ci (pid 20)"}
	start := time.Now()
	got, err := taker.Acquire(ctx, "shop", resumed, Options{})
	if err != nil {
		t.Fatalf("Acquire over a killed holder: %v", err)
	}
	defer got.Release(ctx)
	if took := time.Since(start); took < taker.LeaseDuration {
		t.Errorf("taken over after %s, before one lease duration (%s)", took, taker.LeaseDuration)
	}
	if h := currentHolder(t, ctx, clients(), ns, "shop"); h != resumed {
		t.Errorf("holder = %+v, want %+v", h, resumed)
	}
}

// kill stops a lock's renewals without releasing it, as a SIGKILL would.
func kill(lk Lock) {
	k := lk.(*leaseLock)
	k.cancel()
	<-k.done
}

// A Lease left by an older cutover (plain "RUNID who" identity), renewed
// long ago, is reported as possibly dead and taken over after one lease
// duration.
func TestLeaseOldHolderTakenOver(t *testing.T) {
	ctx, ns, clients := e2e(t)
	cl := clients()
	ghost, secs := "20260301-1-abc root@laptop (pid 7)", int32(1)
	then := metav1.NewMicroTime(time.Now().Add(-time.Minute))
	_, err := cl.Typed.CoordinationV1().Leases(ns).Create(ctx, &coordv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: leaseName("deploy")},
		Spec:       coordv1.LeaseSpec{HolderIdentity: &ghost, LeaseDurationSeconds: &secs, AcquireTime: &then, RenewTime: &then},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	me := Holder{RunID: "run-new", Who: "ci"}
	l, err := fast(clients(), ns).Acquire(ctx, "deploy", me, Options{OnWait: rec.onWait})
	if err != nil {
		t.Fatalf("Acquire over a lease not renewed for a minute: %v", err)
	}
	defer l.Release(ctx)
	want := `lock "deploy" is held by run 20260301-1-abc (root@laptop (pid 7)); waiting up to 2s to see whether it still renews`
	if msgs := rec.all(); len(msgs) != 1 || msgs[0] != want {
		t.Errorf("OnWait told %q, want %q", msgs, want)
	}
	if h := currentHolder(t, ctx, cl, ns, "deploy"); h != me {
		t.Errorf("holder = %+v, want %+v", h, me)
	}
}

// A bounded wait for a holder that keeps renewing ends with *HeldError
// once the bound has passed.
func TestLeaseWaitBound(t *testing.T) {
	ctx, ns, clients := e2e(t)
	ha := Holder{RunID: "run-a", Who: "ci/a"}
	la, err := fast(clients(), ns).Acquire(ctx, "shop", ha, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer la.Release(ctx)
	rec := newRecorder()
	bound := 3 * time.Second // longer than a lease duration: renewals are seen meanwhile
	start := time.Now()
	_, err = fast(clients(), ns).Acquire(ctx, "shop", Holder{RunID: "run-b"}, Options{Wait: bound, OnWait: rec.onWait})
	took := time.Since(start)
	var held *HeldError
	if !errors.As(err, &held) || held.Holder != ha {
		t.Fatalf("bounded Acquire: %v, want *HeldError naming %v", err, ha)
	}
	if took < bound {
		t.Errorf("gave up after %s, before the %s bound", took, bound)
	}
	if msgs := rec.all(); len(msgs) != 1 || !strings.Contains(msgs[0], `held by run run-a (ci/a)`) {
		t.Errorf("OnWait told %q, want one message naming the holder", msgs)
	}
	select {
	case <-la.Lost():
		t.Errorf("holder lost its lock: %v", la.Err())
	default:
	}
}

func TestLeaseDeletedMidHold(t *testing.T) {
	ctx, ns, clients := e2e(t)
	lk, err := fast(clients(), ns).Acquire(ctx, "gone", Holder{RunID: "run-a"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := clients().Typed.CoordinationV1().Leases(ns).Delete(ctx, leaseName("gone"), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lk.Lost():
	case <-ctx.Done():
		t.Fatal("Lost was not closed after the Lease was deleted")
	}
	if err := lk.Err(); err == nil || err.Error() != `lock "gone": the Lease was deleted` {
		t.Errorf("Err() = %v", err)
	}
	if err := lk.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseLostWhenTaken(t *testing.T) {
	ctx, ns, clients := e2e(t)
	l, err := fast(clients(), ns).Acquire(ctx, "stolen", Holder{RunID: "run-a"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
		t.Fatal("Lost closed while the lease was ours")
	default:
	}
	// Someone else writes itself in as the holder (an operator, a run that
	// judged us dead): our next renewal must notice and give up.
	cl := clients()
	lease, err := cl.Typed.CoordinationV1().Leases(ns).Get(ctx, leaseName("stolen"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	thief := Holder{RunID: "run-thief", Who: "operator"}
	id := encodeHolder(thief)
	lease.Spec.HolderIdentity = &id
	if _, err := cl.Typed.CoordinationV1().Leases(ns).Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
	case <-ctx.Done():
		t.Fatal("Lost was not closed after the lease was taken")
	}
	if err := l.Err(); err == nil || err.Error() != `lock "stolen": taken over by run run-thief (operator)` {
		t.Errorf("Err() = %v", err)
	}
	// Release must not free a lock that is no longer ours.
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if h := currentHolder(t, ctx, cl, ns, "stolen"); h != thief {
		t.Errorf("after Release the holder is %+v, want %+v untouched", h, thief)
	}
}

// counting returns clients like cl that record the method of every
// request reaching the API server (the recorder is the only wrapper).
func counting(t *testing.T, cl *kube.Clients) (*kube.Clients, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var methods []string
	cfg := rest.CopyConfig(cl.Config)
	cfg.WrapTransport = nil
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			methods = append(methods, r.Method)
			mu.Unlock()
			return rt.RoundTrip(r)
		})
	})
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &kube.Clients{Config: cfg, Typed: typed}, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), methods...)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Uncontended, the lock costs one request to take, one per renewal and one
// to release: the renewals seen by a watcher are all the requests between
// the create and the delete.
func TestLeaseRequests(t *testing.T) {
	ctx, ns, clients := e2e(t)
	cl, methods := counting(t, clients())
	watcher := clients()
	w, err := watcher.Typed.CoordinationV1().Leases(ns).Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", leaseName("counted")).String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	me := Holder{RunID: "run-a", Who: "ci"}
	locker := fast(cl, ns)
	locker.renewer = cl.Typed // count the renewals too
	lk, err := locker.Acquire(ctx, "counted", me, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m := methods(); len(m) != 1 || m[0] != http.MethodPost {
		t.Fatalf("requests to take a free lock: %v, want one POST", m)
	}
	// Hold it for two renewals, each seen by the watcher as a new
	// renewTime for us.
	var first *coordv1.Lease
	renewals := 0
	for renewals < 2 {
		ev := <-w.ResultChan()
		lease, ok := ev.Object.(*coordv1.Lease)
		if !ok {
			t.Fatalf("watch event %v", ev)
		}
		switch {
		case ev.Type == watch.Added:
			first = lease
		case ev.Type == watch.Modified && decodeHolder(holderOf(lease)) == me && lease.Spec.RenewTime.After(first.Spec.RenewTime.Time):
			renewals++
		default:
			t.Fatalf("unexpected %s of %+v", ev.Type, lease.Spec)
		}
	}
	if err := lk.Release(ctx); err != nil {
		t.Fatal(err)
	}
	// Renewals that raced with the watcher above are counted here.
	for ev := range w.ResultChan() {
		if ev.Type == watch.Deleted {
			break
		}
		if ev.Type != watch.Modified {
			t.Fatalf("unexpected %s", ev.Type)
		}
		renewals++
	}
	m := methods()
	want := []string{http.MethodPost}
	for range renewals {
		want = append(want, http.MethodPut)
	}
	want = append(want, http.MethodDelete)
	if strings.Join(m, " ") != strings.Join(want, " ") {
		t.Errorf("requests: %v, want %v (create, %d renewals, delete)", m, want, renewals)
	}
}

func TestLeaseRenewedWhileHeld(t *testing.T) {
	ctx, ns, clients := e2e(t)
	me := Holder{RunID: "run-a"}
	l, err := fast(clients(), ns).Acquire(ctx, "renewed", me, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	cl := clients()
	first, err := cl.Typed.CoordinationV1().Leases(ns).Get(ctx, leaseName("renewed"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Spec.LeaseDurationSeconds == nil || *first.Spec.LeaseDurationSeconds != 2 {
		t.Errorf("leaseDurationSeconds = %v, want 2", first.Spec.LeaseDurationSeconds)
	}
	// Watch for the renewal instead of sleeping past it.
	w, err := cl.Typed.CoordinationV1().Leases(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev, ok := <-w.ResultChan()
	if !ok {
		t.Fatal("watch closed before a renewal")
	}
	renewed := ev.Object.(*coordv1.Lease)
	if decodeHolder(holderOf(renewed)) != me || !renewed.Spec.RenewTime.After(first.Spec.RenewTime.Time) {
		t.Errorf("after renewal: holder %q, renewTime %v (was %v)", holderOf(renewed), renewed.Spec.RenewTime, first.Spec.RenewTime)
	}
}
