package lock

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
)

// These tests run the locker's logic against a fake clientset and a fake
// clock, so that they can show what a real control plane cannot be made
// to do on demand: skewed clocks, failing and denied renewals, and the
// exact moment a lock is taken or lost.

var leasesGVR = coordv1.SchemeGroupVersion.WithResource("leases")

// fakeAPI is a clientset whose Leases keep a resourceVersion and refuse
// stale updates and deletes as the API server does (the plain fake
// tracker does neither).
func fakeAPI() *fake.Clientset {
	cs := fake.NewClientset()
	var mu sync.Mutex
	rv := 0
	stamp := func(l *coordv1.Lease) {
		rv++
		l.ResourceVersion = strconv.Itoa(rv)
	}
	current := func(a k8stesting.Action, name string) (*coordv1.Lease, error) {
		obj, err := cs.Tracker().Get(leasesGVR, a.GetNamespace(), name)
		if err != nil {
			return nil, err
		}
		return obj.(*coordv1.Lease), nil
	}
	conflict := func(name string) error {
		return apierrors.NewConflict(leasesGVR.GroupResource(), name, errors.New("the object has been modified"))
	}
	cs.PrependReactor("create", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		l := a.(k8stesting.CreateAction).GetObject().(*coordv1.Lease).DeepCopy()
		l.Namespace = a.GetNamespace()
		stamp(l)
		if err := cs.Tracker().Create(leasesGVR, l, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, l.DeepCopy(), nil
	})
	cs.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		l := a.(k8stesting.UpdateAction).GetObject().(*coordv1.Lease).DeepCopy()
		cur, err := current(a, l.Name)
		if err != nil {
			return true, nil, err
		}
		if l.ResourceVersion != cur.ResourceVersion {
			return true, nil, conflict(l.Name)
		}
		stamp(l)
		if err := cs.Tracker().Update(leasesGVR, l, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, l.DeepCopy(), nil
	})
	cs.PrependReactor("delete", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		d := a.(k8stesting.DeleteAction)
		cur, err := current(a, d.GetName())
		if err != nil {
			return true, nil, err
		}
		if p := d.GetDeleteOptions().Preconditions; p != nil && p.ResourceVersion != nil && *p.ResourceVersion != cur.ResourceVersion {
			return true, nil, conflict(d.GetName())
		}
		return true, nil, cs.Tracker().Delete(leasesGVR, a.GetNamespace(), d.GetName())
	})
	return cs
}

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeLocker is a locker with the default durations on a fake clock.
func fakeLocker() (*LeaseLocker, *fake.Clientset, *testingclock.FakeClock) {
	cs, fc := fakeAPI(), testingclock.NewFakeClock(epoch)
	return &LeaseLocker{client: cs, ns: "ns", Clock: fc}, cs, fc
}

// armed waits until the code under test is blocked on a timer of the fake
// clock, so that the test may move time on.
func armed(t *testing.T, fc *testingclock.FakeClock) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !fc.HasWaiters(); {
		if time.Now().After(end) {
			t.Fatal("the locker never waited on the clock")
		}
		time.Sleep(time.Millisecond)
	}
}

// otherHolder puts a Lease held by someone else, renewed at renewTime by
// its own clock.
func otherHolder(t *testing.T, cs *fake.Clientset, name string, h Holder, renewTime time.Time) *coordv1.Lease {
	t.Helper()
	id, secs := encodeHolder(h), int32(15)
	rt := metav1.NewMicroTime(renewTime)
	l, err := cs.CoordinationV1().Leases("ns").Create(context.Background(), &coordv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: leaseName(name)},
		Spec:       coordv1.LeaseSpec{HolderIdentity: &id, LeaseDurationSeconds: &secs, AcquireTime: &rt, RenewTime: &rt},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// renewAs renews lease as its holder would, by its own (skewed) clock.
func renewAs(t *testing.T, cs *fake.Clientset, lease *coordv1.Lease, renewTime time.Time) *coordv1.Lease {
	t.Helper()
	lease = lease.DeepCopy()
	rt := metav1.NewMicroTime(renewTime)
	lease.Spec.RenewTime = &rt
	l, err := cs.CoordinationV1().Leases("ns").Update(context.Background(), lease, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func getLease(t *testing.T, cs *fake.Clientset, name string) *coordv1.Lease {
	t.Helper()
	l, err := cs.CoordinationV1().Leases("ns").Get(context.Background(), leaseName(name), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type result struct {
	lock Lock
	err  error
}

func acquireAsync(l *LeaseLocker, name string, h Holder, opts Options) <-chan result {
	ch := make(chan result, 1)
	go func() {
		lk, err := l.Acquire(context.Background(), name, h, opts)
		ch <- result{lk, err}
	}()
	return ch
}

// messages collects what OnWait is told.
type messages struct {
	mu   sync.Mutex
	msgs []string
	told chan struct{}
}

func newMessages() *messages { return &messages{told: make(chan struct{}, 16)} }

func (m *messages) onWait(msg string) {
	m.mu.Lock()
	m.msgs = append(m.msgs, msg)
	m.mu.Unlock()
	m.told <- struct{}{}
}

func (m *messages) all() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.msgs...)
}

func TestHolderIdentity(t *testing.T) {
	h := Holder{RunID: "20260301-1-abc", Who: "https://ci.example/jobs/7 (pid 12)"}
	if id := encodeHolder(h); id != `{"run":"20260301-1-abc","who":"https://ci.example/jobs/7 (pid 12)"}` {
		t.Errorf("encodeHolder = %s", id)
	}
	for id, want := range map[string]Holder{
		encodeHolder(h):                   h,
		"20260301-1-abc root@ci (pid 1)":  {RunID: "20260301-1-abc", Who: "root@ci (pid 1)"},
		"20260301-1-abc":                  {RunID: "20260301-1-abc"},
		"{not json":                       {RunID: "{not", Who: "json"},
		"":                                {},
		"  20260301-2-def   a  b ":        {RunID: "20260301-2-def", Who: "a  b"},
		`{"run":"r","who":""}`:            {RunID: "r"},
		`{"run":"r","who":"x","extra":1}`: {RunID: "r", Who: "x"},
	} {
		if got := decodeHolder(id); got != want {
			t.Errorf("decodeHolder(%q) = %+v, want %+v", id, got, want)
		}
	}
}

func TestTimingChecked(t *testing.T) {
	for _, l := range []*LeaseLocker{
		{LeaseDuration: 10 * time.Second},                                       // deadline 10s not below
		{LeaseDuration: 3 * time.Second, RenewDeadline: 900 * time.Millisecond}, // renews every 1s, after the deadline
		{RetryPeriod: 10 * time.Second},
	} {
		l.client, l.ns = fakeAPI(), "ns"
		if _, err := l.Acquire(context.Background(), "x", Holder{RunID: "r"}, Options{}); err == nil || !strings.Contains(err.Error(), "lock timing") {
			t.Errorf("Acquire with %s/%s/%s: %v, want a timing error", l.LeaseDuration, l.RenewDeadline, l.RetryPeriod, err)
		}
	}
}

// The common case costs one request to take the lock, one per renewal and
// one to release it.
func TestUncontendedRequests(t *testing.T) {
	l, cs, fc := fakeLocker()
	lk, err := l.Acquire(context.Background(), "shop", Holder{RunID: "r1", Who: "ci"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	verbs := func() (v []string) {
		for _, a := range cs.Actions() {
			v = append(v, a.GetVerb())
		}
		return v
	}
	if got := verbs(); len(got) != 1 || got[0] != "create" {
		t.Fatalf("requests to take a free lock: %v, want [create]", got)
	}
	if h := decodeHolder(holderOf(getLease(t, cs, "shop"))); h != (Holder{RunID: "r1", Who: "ci"}) {
		t.Errorf("holder = %+v", h)
	}
	cs.ClearActions()

	armed(t, fc)
	fc.Step(5 * time.Second)
	armed(t, fc) // the next renewal is scheduled: this one is done
	if got := verbs(); len(got) != 1 || got[0] != "update" {
		t.Fatalf("requests for one renewal: %v, want [update]", got)
	}
	renewed := getLease(t, cs, "shop")
	if !renewed.Spec.RenewTime.Time.Equal(epoch.Add(5 * time.Second)) {
		t.Errorf("renewTime = %v, want the clock's time %v", renewed.Spec.RenewTime, epoch.Add(5*time.Second))
	}
	cs.ClearActions()

	if err := lk.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	acts := cs.Actions()
	if len(acts) != 1 || acts[0].GetVerb() != "delete" {
		t.Fatalf("requests to release: %v, want [delete]", verbs())
	}
	if p := acts[0].(k8stesting.DeleteAction).GetDeleteOptions().Preconditions; p == nil || *p.ResourceVersion != renewed.ResourceVersion {
		t.Errorf("delete preconditions %+v, want resourceVersion %s", p, renewed.ResourceVersion)
	}
	if err := lk.Release(context.Background()); err != nil || len(cs.Actions()) != 1 {
		t.Errorf("second Release: %v after %v, want nil and no request", err, verbs())
	}
	select {
	case <-lk.Lost():
		t.Error("Lost closed by Release")
	default:
	}
}

// (a) A holder whose renewTime is an hour behind our clock, but which
// keeps renewing, is alive: its clock is skewed, not stopped.
func TestSkewedBehindHolderThatRenewsIsAlive(t *testing.T) {
	l, cs, fc := fakeLocker()
	other := Holder{RunID: "r0", Who: "laptop"}
	lease := otherHolder(t, cs, "shop", other, epoch.Add(-time.Hour))
	m := newMessages()
	res := acquireAsync(l, "shop", Holder{RunID: "r1"}, Options{OnWait: m.onWait})

	armed(t, fc)
	// An hour-old renewTime looks dead: we say so, and watch.
	if msgs := m.all(); len(msgs) != 1 || msgs[0] != `lock "shop" is held by run r0 (laptop); waiting up to 15s to see whether it still renews` {
		t.Errorf("OnWait told %q", msgs)
	}
	fc.Step(14 * time.Second)
	renewAs(t, cs, lease, epoch.Add(-time.Hour+14*time.Second))
	r := <-res
	var held *HeldError
	if !errors.As(r.err, &held) {
		t.Fatalf("Acquire: %v, %v; want *HeldError", r.lock, r.err)
	}
	if held.Holder != other || held.Name != "shop" || !held.Renewed.Equal(epoch.Add(14*time.Second)) || !held.Since.Equal(epoch.Add(-time.Hour)) {
		t.Errorf("HeldError = %+v", held)
	}
	if h := decodeHolder(holderOf(getLease(t, cs, "shop"))); h != other {
		t.Errorf("holder = %+v, want %+v untouched", h, other)
	}
}

// The same holder, waited for with a bound: it keeps renewing with its
// skewed clock, so the wait ends with *HeldError at the bound, not with a
// take-over.
func TestSkewedBehindHolderWaitedForUntilTheBound(t *testing.T) {
	l, cs, fc := fakeLocker()
	other := Holder{RunID: "r0", Who: "laptop"}
	lease := otherHolder(t, cs, "shop", other, epoch.Add(-time.Hour))
	m := newMessages()
	res := acquireAsync(l, "shop", Holder{RunID: "r1"}, Options{Wait: 40 * time.Second, OnWait: m.onWait})

	<-m.told // the probe
	armed(t, fc)
	fc.Step(14 * time.Second)
	lease = renewAs(t, cs, lease, epoch.Add(-time.Hour+14*time.Second))
	<-m.told // seen alive: waiting
	want := `waiting up to 40s for lock "shop" held by run r0 (laptop), renewed 0s ago`
	if msgs := m.all(); len(msgs) != 2 || msgs[1] != want {
		t.Errorf("OnWait told %q, want %q second", msgs, want)
	}
	fc.Step(14 * time.Second) // 28s: 14s after the renewal
	renewAs(t, cs, lease, epoch.Add(-time.Hour+28*time.Second))
	fc.Step(14 * time.Second) // 42s: past the bound, 14s after the renewal
	r := <-res
	var held *HeldError
	if !errors.As(r.err, &held) || held.Holder != other {
		t.Fatalf("Acquire: %v, %v; want *HeldError naming %v", r.lock, r.err, other)
	}
	if h := decodeHolder(holderOf(getLease(t, cs, "shop"))); h != other {
		t.Errorf("holder = %+v, want %+v untouched", h, other)
	}
	if n := len(m.all()); n != 2 {
		t.Errorf("OnWait called %d times, want 2", n)
	}
}

// (b) A holder whose renewTime is an hour ahead of our clock, but which
// never renews, is taken over after one lease duration on our clock.
func TestSkewedAheadHolderThatStoppedIsTakenOver(t *testing.T) {
	l, cs, fc := fakeLocker()
	lease := otherHolder(t, cs, "shop", Holder{RunID: "r0", Who: "laptop"}, epoch.Add(time.Hour))
	m := newMessages()
	res := acquireAsync(l, "shop", Holder{RunID: "r1", Who: "ci"}, Options{OnWait: m.onWait})

	armed(t, fc)
	fc.Step(15*time.Second - time.Millisecond)
	select {
	case r := <-res:
		t.Fatalf("Acquire returned before a lease duration: %v, %v", r.lock, r.err)
	default:
	}
	cs.ClearActions()
	fc.Step(time.Millisecond)
	r := <-res
	if r.err != nil {
		t.Fatalf("Acquire after a lease duration without renewal: %v", r.err)
	}
	defer r.lock.Release(context.Background())

	acts := cs.Actions()
	if len(acts) != 1 || acts[0].GetVerb() != "update" {
		t.Fatalf("requests to take over: %v, want one update", acts)
	}
	if rv := acts[0].(k8stesting.UpdateAction).GetObject().(*coordv1.Lease).ResourceVersion; rv != lease.ResourceVersion {
		t.Errorf("take-over update carried resourceVersion %q, want the observed %q", rv, lease.ResourceVersion)
	}
	got := getLease(t, cs, "shop")
	if h := decodeHolder(holderOf(got)); h != (Holder{RunID: "r1", Who: "ci"}) {
		t.Errorf("holder = %+v", h)
	}
	if got.Spec.LeaseTransitions == nil || *got.Spec.LeaseTransitions != 1 || !got.Spec.AcquireTime.Time.Equal(epoch.Add(15*time.Second)) {
		t.Errorf("spec after take-over = %+v", got.Spec)
	}
	// A holder that looks alive (its renewTime is fresh by its clock) may
	// be a process killed a moment ago: the watch may last a lease
	// duration, so the caller is told why it blocks, once.
	if msgs := m.all(); len(msgs) != 1 || !strings.Contains(msgs[0], "waiting up to 15s to see whether it still renews") {
		t.Errorf("OnWait told %q, want one message about the watch", msgs)
	}
}

// A released Lease (no holder) is taken at once, without watching.
func TestReleasedLeaseTakenAtOnce(t *testing.T) {
	l, cs, _ := fakeLocker()
	lease := otherHolder(t, cs, "shop", Holder{RunID: "r0"}, epoch)
	lease.Spec.HolderIdentity = nil
	if _, err := cs.CoordinationV1().Leases("ns").Update(context.Background(), lease, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cs.ClearActions()
	lk, err := l.Acquire(context.Background(), "shop", Holder{RunID: "r1"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release(context.Background())
	var verbs []string
	for _, a := range cs.Actions() {
		verbs = append(verbs, a.GetVerb())
	}
	if strings.Join(verbs, ",") != "create,get,update" {
		t.Errorf("requests: %v, want create (exists), get, update", verbs)
	}
}

// heldLock acquires "shop" on a fake clock and waits for its renewal loop
// to be scheduled.
func heldLock(t *testing.T) (Lock, *fake.Clientset, *testingclock.FakeClock) {
	t.Helper()
	l, cs, fc := fakeLocker()
	lk, err := l.Acquire(context.Background(), "shop", Holder{RunID: "r1", Who: "ci"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Release(context.Background()) })
	armed(t, fc)
	return lk, cs, fc
}

func isLost(lk Lock) bool {
	select {
	case <-lk.Lost():
		return true
	default:
		return false
	}
}

// (c) Failing renewals lose the lock at the renew deadline (10s), well
// before anyone may take it over (15s).
func TestRenewalFailingLostAtRenewDeadline(t *testing.T) {
	lk, cs, fc := heldLock(t)
	updates := 0
	cs.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		return true, nil, apierrors.NewServiceUnavailable("apiserver restarting")
	})
	// Renewal due at 5s, retried at 7s and 9s.
	for _, step := range []time.Duration{5 * time.Second, 2 * time.Second, 2 * time.Second, time.Second - time.Millisecond} {
		fc.Step(step)
		armed(t, fc)
		if isLost(lk) {
			t.Fatalf("lost at %s, before the renew deadline", fc.Since(epoch))
		}
	}
	if updates != 3 {
		t.Errorf("%d renewal attempts before the deadline, want 3", updates)
	}
	fc.Step(time.Millisecond) // 10s
	<-lk.Lost()
	want := `lock "shop": not renewed for 10s: apiserver restarting`
	if err := lk.Err(); err == nil || err.Error() != want {
		t.Errorf("Err() = %v, want %q", err, want)
	}
	if updates != 3 {
		t.Errorf("%d renewal attempts, want no more at the deadline", updates)
	}
}

// A renewal that fails once and then succeeds keeps the lock, and the
// deadline counts again from the success.
func TestRenewalRecovers(t *testing.T) {
	lk, cs, fc := heldLock(t)
	fail := true
	cs.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if fail {
			return true, nil, apierrors.NewServiceUnavailable("apiserver restarting")
		}
		return false, nil, nil
	})
	fc.Step(5 * time.Second) // fails
	armed(t, fc)
	fail = false
	fc.Step(2 * time.Second) // 7s: retried, succeeds
	armed(t, fc)
	// Failing again from now on: lost 10s after the success at 7s.
	fail = true
	for _, step := range []time.Duration{5 * time.Second, 2 * time.Second, 2 * time.Second, time.Second - time.Millisecond} {
		fc.Step(step)
		armed(t, fc)
		if isLost(lk) {
			t.Fatalf("lost at %s, before 10s after the last renewal", fc.Since(epoch))
		}
	}
	fc.Step(time.Millisecond)
	<-lk.Lost()
	if got := fc.Since(epoch); got != 17*time.Second {
		t.Errorf("lost at %s, want 17s", got)
	}
}

// (d) A denied renewal loses the lock at once: the permission will not
// come back before the deadline.
func TestRenewalDeniedLostAtOnce(t *testing.T) {
	lk, cs, fc := heldLock(t)
	denied := apierrors.NewForbidden(leasesGVR.GroupResource(), leaseName("shop"), errors.New(`User "ci" cannot update resource "leases"`))
	cs.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, denied
	})
	fc.Step(5 * time.Second)
	<-lk.Lost()
	want := `lock "shop": renewal denied: ` + denied.Error()
	if err := lk.Err(); err == nil || err.Error() != want || !apierrors.IsForbidden(errors.Unwrap(err)) {
		t.Errorf("Err() = %v, want %q", err, want)
	}
	// Release after the loss still tries to free the Lease (delete may be
	// allowed where update is not), and a second Release is a no-op.
	if err := lk.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoordinationV1().Leases("ns").Get(context.Background(), leaseName("shop"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after Release: %v, want the Lease deleted", err)
	}
	if err := lk.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseDeletedLostAtOnce(t *testing.T) {
	lk, cs, fc := heldLock(t)
	if err := cs.CoordinationV1().Leases("ns").Delete(context.Background(), leaseName("shop"), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	fc.Step(5 * time.Second)
	<-lk.Lost()
	if err := lk.Err(); err == nil || err.Error() != `lock "shop": the Lease was deleted` {
		t.Errorf("Err() = %v", err)
	}
	if err := lk.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A Lease someone else wrote itself into makes our renewal conflict; the
// read that follows shows the new holder, and the lock is lost at once.
// Release then leaves the new holder's Lease alone.
func TestLeaseTakenLostAtOnce(t *testing.T) {
	lk, cs, fc := heldLock(t)
	lease := getLease(t, cs, "shop")
	thief := encodeHolder(Holder{RunID: "r9", Who: "operator"})
	lease.Spec.HolderIdentity = &thief
	if _, err := cs.CoordinationV1().Leases("ns").Update(context.Background(), lease, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cs.ClearActions()
	fc.Step(5 * time.Second)
	<-lk.Lost()
	if err := lk.Err(); err == nil || err.Error() != `lock "shop": taken over by run r9 (operator)` {
		t.Errorf("Err() = %v", err)
	}
	if err := lk.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	var verbs []string
	for _, a := range cs.Actions() {
		verbs = append(verbs, a.GetVerb())
	}
	if strings.Join(verbs, ",") != "update,get" {
		t.Errorf("requests: %v, want update (conflict), get, and no delete", verbs)
	}
	if h := holderOf(getLease(t, cs, "shop")); h != thief {
		t.Errorf("holder after Release = %s, want %s", h, thief)
	}
}

// A conflict from a mere touch of the Lease (still ours) is not a loss:
// the renewal is retried with the Lease just read.
func TestRenewalConflictStillOurs(t *testing.T) {
	lk, cs, fc := heldLock(t)
	lease := getLease(t, cs, "shop")
	lease.Labels = map[string]string{"touched": "yes"}
	if _, err := cs.CoordinationV1().Leases("ns").Update(context.Background(), lease, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cs.ClearActions()
	fc.Step(5 * time.Second)
	armed(t, fc)
	if isLost(lk) {
		t.Fatalf("lost: %v", lk.Err())
	}
	var verbs []string
	for _, a := range cs.Actions() {
		verbs = append(verbs, a.GetVerb())
	}
	if strings.Join(verbs, ",") != "update,get,update" {
		t.Errorf("requests: %v, want update (conflict), get, update", verbs)
	}
	if got := getLease(t, cs, "shop"); !got.Spec.RenewTime.Time.Equal(epoch.Add(5 * time.Second)) {
		t.Errorf("renewTime = %v, want renewed", got.Spec.RenewTime)
	}
}

// A holder that gives the lock up by clearing its identity while we watch
// is replaced at once, without waiting for a lease duration.
func TestClearedWhileWatchingTakenAtOnce(t *testing.T) {
	l, cs, fc := fakeLocker()
	lease := otherHolder(t, cs, "shop", Holder{RunID: "r0"}, epoch)
	res := acquireAsync(l, "shop", Holder{RunID: "r1"}, Options{Wait: time.Minute})
	armed(t, fc)
	lease.Spec.HolderIdentity = nil
	if _, err := cs.CoordinationV1().Leases("ns").Update(context.Background(), lease, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.lock.Release(context.Background())
	if got := fc.Since(epoch); got != 0 {
		t.Errorf("taken after %s on the clock, want at once", got)
	}
	if h := decodeHolder(holderOf(getLease(t, cs, "shop"))); h != (Holder{RunID: "r1"}) {
		t.Errorf("holder = %+v", h)
	}
}

// A Lease already naming us (our create landed, its answer was lost and
// the replay met AlreadyExists) is ours at once.
func TestOwnLeaseTakenAtOnce(t *testing.T) {
	l, cs, _ := fakeLocker()
	me := Holder{RunID: "r1", Who: "root@ci (pid 3)"}
	otherHolder(t, cs, "shop", me, epoch.Add(-time.Second))
	lk, err := l.Acquire(context.Background(), "shop", me, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release(context.Background())
	if got := getLease(t, cs, "shop"); got.Spec.LeaseTransitions != nil || !got.Spec.RenewTime.Time.Equal(epoch) {
		t.Errorf("spec = %+v, want renewed now, no transition", got.Spec)
	}
}

// A holder that releases the lock while a contender without --wait-lock
// watches it finished its run: the contender is refused, naming it, and
// takes nothing (going ahead would release on top of that run). Deleting
// the Lease (Release) and clearing its identity are both a release.
func TestReleasedWhileWatchedRefused(t *testing.T) {
	for _, how := range []string{"deleted", "cleared"} {
		t.Run(how, func(t *testing.T) {
			l, cs, fc := fakeLocker()
			first := Holder{RunID: "r0", Who: "root@ci (pid 3)"}
			lease := otherHolder(t, cs, "shop", first, epoch)
			res := acquireAsync(l, "shop", Holder{RunID: "r1"}, Options{})
			armed(t, fc)
			leases := cs.CoordinationV1().Leases("ns")
			if how == "deleted" {
				if err := leases.Delete(context.Background(), lease.Name, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			} else {
				lease.Spec.HolderIdentity = nil
				if _, err := leases.Update(context.Background(), lease, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			r := <-res
			var rel *ReleasedError
			if !errors.As(r.err, &rel) || rel.Holder != first || rel.Name != "shop" {
				t.Fatalf("Acquire = %v, %v; want *ReleasedError naming %v", r.lock, r.err, first)
			}
			if want := `lock "shop" was released by run r0 (root@ci (pid 3)) while this process waited to see whether it still renewed`; r.err.Error() != want {
				t.Errorf("error says %q, want %q", r.err, want)
			}
			creates := 0
			for _, a := range cs.Actions() {
				switch a.GetVerb() {
				case "create":
					creates++
				case "update":
					if decodeHolder(holderOf(a.(k8stesting.UpdateAction).GetObject().(*coordv1.Lease))).RunID == "r1" {
						t.Errorf("took the released lock over")
					}
				}
			}
			if creates != 2 { // otherHolder's, and our first try
				t.Errorf("%d creates, want 2: the released lock was created again", creates)
			}
		})
	}
}

// A resume or undo that finds its own run's earlier process holding the
// lock says so, not that another run holds it; alive, that process is
// *HeldError naming it.
func TestOwnRunsProcessWatched(t *testing.T) {
	l, cs, fc := fakeLocker()
	earlier := Holder{RunID: "r1", Who: "root@ci (pid 10)"}
	lease := otherHolder(t, cs, "shop", earlier, epoch)
	m := newMessages()
	res := acquireAsync(l, "shop", Holder{RunID: "r1", Who: "root@ci (pid 20)"}, Options{OnWait: m.onWait})
	armed(t, fc)
	if msgs := m.all(); len(msgs) != 1 || msgs[0] != `run r1 still holds lock "shop" (root@ci (pid 10)); waiting up to 15s to see whether that process still renews it` {
		t.Errorf("OnWait told %q", msgs)
	}
	fc.Step(5 * time.Second)
	renewAs(t, cs, lease, epoch.Add(5*time.Second))
	r := <-res
	var held *HeldError
	if !errors.As(r.err, &held) || held.Holder != earlier {
		t.Fatalf("Acquire: %v, %v; want *HeldError naming %v", r.lock, r.err, earlier)
	}
}
