package lock

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/cutoverhq/cutover/kube"
)

// LeaseLocker implements Locker with coordination.k8s.io Leases named
// cutover-lock-NAME, renewed while held.
type LeaseLocker struct {
	client   kubernetes.Interface
	ns       string
	Duration time.Duration // how long a holder that stopped renewing keeps the lock
}

// NewLeaseLocker returns a locker for namespace with a 30s lease.
func NewLeaseLocker(c *kube.Clients, namespace string) *LeaseLocker {
	return &LeaseLocker{client: c.Typed, ns: namespace, Duration: 30 * time.Second}
}

func leaseName(name string) string {
	return "cutover-lock-" + strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

// Acquire implements Locker.
func (l *LeaseLocker) Acquire(ctx context.Context, name, holder string, wait bool) (Lock, error) {
	for {
		lease, held, err := l.tryAcquire(ctx, name, holder)
		if err != nil {
			return nil, err
		}
		if held == nil {
			return l.hold(lease, name, holder), nil
		}
		if !wait {
			return nil, held
		}
		if err := l.waitChange(ctx, name, lease.ResourceVersion, held.Expires); err != nil {
			return nil, fmt.Errorf("waiting for lock %q held by %s: %w", name, held.Holder, err)
		}
	}
}

func (l *LeaseLocker) tryAcquire(ctx context.Context, name, holder string) (*coordv1.Lease, *HeldError, error) {
	leases := l.client.CoordinationV1().Leases(l.ns)
	now := metav1.NewMicroTime(time.Now())
	secs := int32(l.Duration.Seconds())
	// Most of the time nobody holds the lock: create first, read only when
	// the Lease is there already (one request instead of two).
	lease := &coordv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: leaseName(name), Labels: map[string]string{"app.kubernetes.io/managed-by": "cutover"}},
		Spec:       coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now},
	}
	created, err := leases.Create(ctx, lease, metav1.CreateOptions{})
	if err == nil || !apierrors.IsAlreadyExists(err) {
		return created, nil, err
	}
	cur, err := leases.Get(ctx, leaseName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return l.tryAcquire(ctx, name, holder) // released in between
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading lock %q: %w", name, err)
	}
	if h := holderOf(cur); h != "" && !sameRun(h, holder) && !expired(cur) {
		return cur, heldError(name, cur), nil
	}
	cur.Spec.HolderIdentity, cur.Spec.LeaseDurationSeconds = &holder, &secs
	cur.Spec.AcquireTime, cur.Spec.RenewTime = &now, &now
	updated, err := leases.Update(ctx, cur, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return l.tryAcquire(ctx, name, holder) // someone else moved first: look again
	}
	return updated, nil, err
}

// sameRun reports whether two holder identities name the same run: the
// first word is the run id, so a resumed run (another process) takes its
// own lock back at once instead of waiting for the dead one's to expire.
func sameRun(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	return len(fa) > 0 && len(fb) > 0 && fa[0] == fb[0]
}

func holderOf(l *coordv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func expiry(l *coordv1.Lease) time.Time {
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return time.Time{}
	}
	return l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
}

func expired(l *coordv1.Lease) bool { return time.Now().After(expiry(l)) }

func heldError(name string, l *coordv1.Lease) *HeldError {
	e := &HeldError{Name: name, Holder: holderOf(l), Expires: expiry(l)}
	if l.Spec.AcquireTime != nil {
		e.Since = l.Spec.AcquireTime.Time
	}
	return e
}

// waitChange returns when the lease changes after resourceVersion rv
// (released, deleted, renewed, taken) or its holder's time runs out. The
// watch starts at rv, so a release between our read and the watch is not
// missed.
func (l *LeaseLocker) waitChange(ctx context.Context, name, rv string, expires time.Time) error {
	wctx, cancel := context.WithDeadline(ctx, expires.Add(100*time.Millisecond))
	defer cancel()
	w, err := l.client.CoordinationV1().Leases(l.ns).Watch(wctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", leaseName(name)).String(),
		ResourceVersion: rv,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if wctx.Err() != nil {
			return nil // expired while starting the watch: look again
		}
		return err
	}
	defer w.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wctx.Done():
		return nil // the holder's time ran out: look again
	case <-w.ResultChan():
		// Any event, even an error (rv too old), means "look again".
		return nil
	}
}

type leaseLock struct {
	l      *LeaseLocker
	name   string
	holder string
	lost   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	lease  *coordv1.Lease
}

func (l *LeaseLocker) hold(lease *coordv1.Lease, name, holder string) *leaseLock {
	h := &leaseLock{l: l, name: name, holder: holder, lease: lease,
		lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go h.renew()
	return h
}

func (h *leaseLock) Lost() <-chan struct{} { return h.lost }

// renew keeps the lease fresh every third of its duration; if renewal fails
// until the lease would have expired, the lock is lost.
func (h *leaseLock) renew() {
	defer close(h.done)
	every := h.l.Duration / 3
	lastOK := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		err := h.renewOnce(ctx)
		cancel()
		if err == nil {
			lastOK = time.Now()
			continue
		}
		if time.Since(lastOK) >= h.l.Duration || apierrors.IsNotFound(err) || err == errTaken {
			close(h.lost)
			return
		}
	}
}

var errTaken = fmt.Errorf("lease taken by another holder")

func (h *leaseLock) renewOnce(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	leases := h.l.client.CoordinationV1().Leases(h.l.ns)
	cur, err := leases.Get(ctx, h.lease.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if holderOf(cur) != h.holder {
		return errTaken
	}
	now := metav1.NewMicroTime(time.Now())
	cur.Spec.RenewTime = &now
	updated, err := leases.Update(ctx, cur, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	h.lease = updated
	return nil
}

// Release gives the lock up if it is still ours.
func (h *leaseLock) Release(ctx context.Context) error {
	close(h.stop)
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	// Delete only the version we last wrote: if someone took the lock over
	// since (we stopped renewing in time), the precondition fails and their
	// Lease stays. One request, no read.
	rv := h.lease.ResourceVersion
	err := h.l.client.CoordinationV1().Leases(h.l.ns).Delete(ctx, h.lease.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
