package lock

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

func TestLeaseContention(t *testing.T) {
	ctx, ns, clients := e2e(t)
	a := NewLeaseLocker(clients(), ns)
	b, watching := watchingLocker(t, clients(), ns)

	la, err := a.Acquire(ctx, "checkout", "job-a", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Acquire(ctx, "checkout", "job-b", false)
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want *HeldError", err)
	}
	if held.Holder != "job-a" || held.Name != "checkout" || !held.Expires.After(held.Since) {
		t.Errorf("HeldError = %+v, want job-a holding checkout", held)
	}

	// The waiter must get the lock from the watch when it is released,
	// well before job-a's 30s lease would have expired: the deadline below
	// tells the two apart.
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	got := make(chan error, 1)
	var lb Lock
	go func() {
		var err error
		lb, err = b.Acquire(wctx, "checkout", "job-b", true)
		got <- err
	}()
	select {
	case <-watching:
	case err := <-got:
		t.Fatalf("waiting Acquire returned before the lock was released: %v", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting Acquire after Release: %v", err)
	}
	if h := holder(t, ctx, clients(), ns, "checkout"); h != "job-b" {
		t.Errorf("lease holder = %q, want job-b", h)
	}
	if err := lb.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// watchingLocker is a locker whose client signals on watching when it starts
// a watch, so a test can release a lock once the waiter is surely watching.
func watchingLocker(t *testing.T, cl *kube.Clients, ns string) (*LeaseLocker, <-chan struct{}) {
	t.Helper()
	watching := make(chan struct{}, 16)
	cfg := rest.CopyConfig(cl.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Query().Get("watch") == "true" {
				select {
				case watching <- struct{}{}:
				default:
				}
			}
			return rt.RoundTrip(r)
		})
	})
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &LeaseLocker{client: typed, ns: ns, Duration: 30 * time.Second}, watching
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func holder(t *testing.T, ctx context.Context, cl *kube.Clients, ns, name string) string {
	t.Helper()
	l, err := cl.Typed.CoordinationV1().Leases(ns).Get(ctx, leaseName(name), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return holderOf(l)
}

func TestLeaseExpiredHolderIsTakenOver(t *testing.T) {
	ctx, ns, clients := e2e(t)
	cl := clients()
	ghost, secs := "crashed-job", int32(10)
	then := metav1.NewMicroTime(time.Now().Add(-time.Minute))
	_, err := cl.Typed.CoordinationV1().Leases(ns).Create(ctx, &coordv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: leaseName("deploy")},
		Spec:       coordv1.LeaseSpec{HolderIdentity: &ghost, LeaseDurationSeconds: &secs, AcquireTime: &then, RenewTime: &then},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLeaseLocker(clients(), ns).Acquire(ctx, "deploy", "job-new", false)
	if err != nil {
		t.Fatalf("Acquire over a lease expired a minute ago: %v", err)
	}
	defer l.Release(ctx)
	if h := holder(t, ctx, cl, ns, "deploy"); h != "job-new" {
		t.Errorf("holder = %q, want job-new", h)
	}
}

func TestLeaseLostWhenTaken(t *testing.T) {
	ctx, ns, clients := e2e(t)
	locker := NewLeaseLocker(clients(), ns)
	locker.Duration = 3 * time.Second // renew every second
	l, err := locker.Acquire(ctx, "stolen", "job-a", false)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
		t.Fatal("Lost closed while the lease was ours")
	default:
	}
	// Someone else writes itself in as the holder (an operator, a run that
	// judged us expired): our next renewal must notice and give up.
	cl := clients()
	lease, err := cl.Typed.CoordinationV1().Leases(ns).Get(ctx, leaseName("stolen"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	thief := "job-thief"
	lease.Spec.HolderIdentity = &thief
	if _, err := cl.Typed.CoordinationV1().Leases(ns).Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
	case <-ctx.Done():
		t.Fatal("Lost was not closed after the lease was taken")
	}
	// Release must not free a lock that is no longer ours.
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if h := holder(t, ctx, cl, ns, "stolen"); h != thief {
		t.Errorf("after Release the holder is %q, want %q untouched", h, thief)
	}
}

func TestLeaseRenewedWhileHeld(t *testing.T) {
	ctx, ns, clients := e2e(t)
	locker := NewLeaseLocker(clients(), ns)
	locker.Duration = 3 * time.Second
	l, err := locker.Acquire(ctx, "renewed", "job-a", false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	cl := clients()
	first, err := cl.Typed.CoordinationV1().Leases(ns).Get(ctx, leaseName("renewed"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
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
	if holderOf(renewed) != "job-a" || !renewed.Spec.RenewTime.After(first.Spec.RenewTime.Time) {
		t.Errorf("after renewal: holder %q, renewTime %v (was %v)", holderOf(renewed), renewed.Spec.RenewTime, first.Spec.RenewTime)
	}
}
