package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	coordv1 "k8s.io/api/coordination/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	coordclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/cutoverhq/cutover/internal/defaults"
	"github.com/cutoverhq/cutover/kube"
)

// The defaults are client-go's leader-election ones, so that a lock behaves
// like the controllers' leases an operator already knows (internal/defaults).
const (
	DefaultLeaseDuration = defaults.LeaseDuration
	DefaultRenewDeadline = defaults.RenewDeadline
	DefaultRetryPeriod   = defaults.RetryPeriod
)

// LeaseLocker implements Locker with coordination.k8s.io/v1 Leases named
// cutover-lock-NAME in one namespace.
//
// A holder renews every third of LeaseDuration, and every RetryPeriod after
// a failed renewal. client-go renews every RetryPeriod, but a run holds its
// lock for minutes to hours and 30 writes a minute per run buys nothing:
// with the defaults a renewal is due at 5s, and a failed one is retried at
// 7s and 9s before the holder gives up at the 10s RenewDeadline — three
// tries, all well inside the 15s after which an observer takes over.
type LeaseLocker struct {
	client kubernetes.Interface
	// renewer renews and releases held locks (nil: client). It must not
	// retry requests below us: the holder has its own schedule and must
	// see a conflict at once, within the renew deadline.
	renewer kubernetes.Interface
	ns      string

	// LeaseDuration is how long an observer waits, on its own clock, for a
	// holder to renew before taking the lock over. It is also written into
	// the Lease, and an observer waits for the longer of its own and the
	// holder's. Zero means DefaultLeaseDuration.
	LeaseDuration time.Duration
	// RenewDeadline is how long a holder keeps the lock without a
	// successful renewal; it must be shorter than LeaseDuration so that
	// the holder stops trusting the lock before anyone may take it. Zero
	// means DefaultRenewDeadline.
	RenewDeadline time.Duration
	// RetryPeriod is the pause after a failed renewal. Zero means
	// DefaultRetryPeriod.
	RetryPeriod time.Duration
	// Clock is the time source for every duration above and for the times
	// written into Leases; nil means the real clock. Tests use a fake one.
	Clock clock.Clock
}

// NewLeaseLocker returns a locker for Leases in namespace with the default
// durations.
//
// Acquire uses c's clients as they are, retries of failed requests
// included: a blip should not fail a run's start. Renewals and Release use
// a client built from c.Config without its transport wrappers, because
// those retries (kube's replay conflicts too, with backoff) would spend
// the renew deadline on an answer that cannot change — an update
// conflicting because the Lease was taken or deleted — and turn one
// renewal into several requests.
func NewLeaseLocker(c *kube.Clients, namespace string) *LeaseLocker {
	l := &LeaseLocker{client: c.Typed, ns: namespace}
	if c.Config != nil && c.Config.WrapTransport != nil {
		cfg := rest.CopyConfig(c.Config)
		cfg.WrapTransport = nil
		if typed, err := kubernetes.NewForConfig(cfg); err == nil {
			l.renewer = typed
		}
	}
	return l
}

func leaseName(name string) string {
	return "cutover-lock-" + strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

// timing is the locker's durations with defaults applied, checked.
type timing struct {
	lease, deadline, retry, every time.Duration
	clock                         clock.Clock
}

func (l *LeaseLocker) timing() (timing, error) {
	t := timing{lease: l.LeaseDuration, deadline: l.RenewDeadline, retry: l.RetryPeriod, clock: l.Clock}
	if t.lease == 0 {
		t.lease = DefaultLeaseDuration
	}
	if t.deadline == 0 {
		t.deadline = DefaultRenewDeadline
	}
	if t.retry == 0 {
		t.retry = DefaultRetryPeriod
	}
	if t.clock == nil {
		t.clock = clock.RealClock{}
	}
	t.every = t.lease / 3
	if !(t.lease > t.deadline && t.deadline > t.every && t.deadline > t.retry && t.retry > 0) {
		return t, fmt.Errorf("lock timing: want lease duration (%s) > renew deadline (%s) > both a third of the lease duration and the retry period (%s) > 0",
			t.lease, t.deadline, t.retry)
	}
	return t, nil
}

// leaseSeconds is d as written into spec.leaseDurationSeconds: rounded up,
// so that an observer reading it never waits less than we promised.
func leaseSeconds(d time.Duration) int32 {
	return int32((d + time.Second - 1) / time.Second)
}

// encodeHolder is h as spec.holderIdentity: compact JSON, so that a Who
// holding spaces or a URL comes back intact.
func encodeHolder(h Holder) string {
	b, err := json.Marshal(h)
	if err != nil { // two strings always marshal
		panic(err)
	}
	return string(b)
}

// decodeHolder reads spec.holderIdentity, JSON or the older plain "RUNID
// who" form.
func decodeHolder(id string) Holder {
	var h Holder
	if strings.HasPrefix(id, "{") && json.Unmarshal([]byte(id), &h) == nil {
		return h
	}
	id = strings.TrimSpace(id)
	if i := strings.IndexFunc(id, unicode.IsSpace); i >= 0 {
		return Holder{RunID: id[:i], Who: strings.TrimSpace(id[i:])}
	}
	return Holder{RunID: id}
}

func holderOf(l *coordv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// Acquire implements Locker.
func (l *LeaseLocker) Acquire(ctx context.Context, name string, h Holder, opts Options) (Lock, error) {
	t, err := l.timing()
	if err != nil {
		return nil, err
	}
	a := &acquirer{l: l, t: t, name: name, lease: leaseName(name), me: encodeHolder(h), opts: opts, start: t.clock.Now()}
	defer a.stopWatch()
	return a.run(ctx)
}

// acquirer is one Acquire call. It judges the holder as client-go does: it
// remembers the record it saw and when, on its own clock, it first saw it;
// the holder is alive as long as the record keeps changing, and is taken
// over once it has not changed for a lease duration. The holder's
// renewTime is never compared with our clock: the two clocks may disagree
// by minutes.
type acquirer struct {
	l     *LeaseLocker
	t     timing
	name  string // the lock's name
	lease string // the Lease's name
	me    string // our holderIdentity
	opts  Options
	start time.Time

	cur     *coordv1.Lease // the record last seen
	seen    time.Time      // when cur's record was first seen
	renewed time.Time      // when a change of record was last seen; zero: none yet

	w                   watch.Interface
	toldProbe, toldWait bool
	// watched is the holder last watched, set once we block on one (not
	// us, not released): whether it then let go or died tells a run that
	// finished from one that was killed.
	watched *Holder
}

func (a *acquirer) leases() coordclient.LeaseInterface {
	return a.l.client.CoordinationV1().Leases(a.l.ns)
}

func (a *acquirer) run(ctx context.Context) (Lock, error) {
	for {
		// Most of the time nobody holds the lock: create first, read only
		// when the Lease is there already (one request instead of two).
		sent := a.t.clock.Now()
		created, err := a.leases().Create(ctx, a.newLease(sent), metav1.CreateOptions{})
		if err == nil {
			return a.l.hold(a.t, a.name, a.me, created, sent), nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("taking lock %q: %w", a.name, err)
		}
		cur, err := a.leases().Get(ctx, a.lease, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // released in between
		}
		if err != nil {
			return nil, fmt.Errorf("reading lock %q: %w", a.name, err)
		}
		a.observe(cur)
		lk, err := a.contend(ctx)
		if lk != nil || err != nil {
			return lk, err
		}
		if err := a.releasedWhileWatched(); err != nil {
			return nil, err
		}
		// The Lease was deleted while we looked: create it again.
	}
}

// releasedWhileWatched is the outcome of a watch that saw the holder let
// go: it finished, it did not die. Without a wait asked for, that other
// run was in progress when we started, and going ahead now would release
// on top of it (an older version after a newer one, say); with one, the
// release is what we waited for. A Lease first seen released, or gone
// before we could read it, was never watched: nil.
func (a *acquirer) releasedWhileWatched() error {
	if a.opts.Wait > 0 || a.watched == nil {
		return nil
	}
	return &ReleasedError{Name: a.name, Holder: *a.watched}
}

func (a *acquirer) newLease(now time.Time) *coordv1.Lease {
	mt, secs := metav1.NewMicroTime(now), leaseSeconds(a.t.lease)
	return &coordv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: a.lease, Labels: map[string]string{"app.kubernetes.io/managed-by": "cutover"}},
		Spec:       coordv1.LeaseSpec{HolderIdentity: &a.me, LeaseDurationSeconds: &secs, AcquireTime: &mt, RenewTime: &mt},
	}
}

// observe records lease as seen now. Any change of the spec (a renewal,
// a new holder) counts as a sign of life; a change of metadata alone does
// not.
func (a *acquirer) observe(lease *coordv1.Lease) {
	now := a.t.clock.Now()
	if a.cur == nil || !apiequality.Semantic.DeepEqual(a.cur.Spec, lease.Spec) {
		if a.cur != nil {
			a.renewed = now
		}
		a.seen = now
	}
	a.cur = lease
}

// leaseDuration is how long the observed holder may go without renewing:
// ours, or the one it wrote if longer (its renewals are paced by it).
func (a *acquirer) leaseDuration() time.Duration {
	d := a.t.lease
	if s := a.cur.Spec.LeaseDurationSeconds; s != nil && time.Duration(*s)*time.Second > d {
		d = time.Duration(*s) * time.Second
	}
	return d
}

// contend waits for the observed holder to let go, to die or to prove
// alive. It returns nil, nil when the Lease was deleted.
func (a *acquirer) contend(ctx context.Context) (Lock, error) {
	for {
		now := a.t.clock.Now()
		expiry := a.seen.Add(a.leaseDuration())
		h := holderOf(a.cur)
		if h == "" {
			if err := a.releasedWhileWatched(); err != nil {
				return nil, err
			}
		}
		if h == "" || h == a.me || !now.Before(expiry) {
			// Released, or not renewed for a lease duration seen here. Or
			// ours: our create landed but its answer was lost, and its
			// replay found the Lease (the identity names this process).
			lk, deleted, err := a.take(ctx)
			if lk != nil || err != nil || deleted {
				return lk, err
			}
			continue // it changed under us: judge the new record
		}
		wake := expiry
		if !a.renewed.IsZero() {
			bound := a.start.Add(a.opts.Wait)
			if a.opts.Wait <= 0 || !now.Before(bound) {
				return nil, a.held()
			}
			a.tellWaiting(now)
			if bound.Before(wake) {
				wake = bound
			}
		} else if a.w == nil {
			// About to watch for the first time: say why we block, even
			// when the holder looks alive (a process killed a moment ago
			// looks just like one), since the watch may last a lease
			// duration.
			if a.opts.Wait > 0 && !a.possiblyDead(now) {
				a.tellWaiting(now)
			} else {
				a.tellProbe(expiry.Sub(now))
			}
		}
		w := a.holder()
		a.watched = &w
		deleted, err := a.next(ctx, wake.Sub(now))
		if err != nil || deleted {
			return nil, err
		}
	}
}

// possiblyDead guesses, for the message only, whether the holder stopped:
// by its own clock it should have renewed already. The decision to take
// over never depends on it.
func (a *acquirer) possiblyDead(now time.Time) bool {
	rt := a.cur.Spec.RenewTime
	return rt == nil || now.Sub(rt.Time) > a.leaseDuration()/3
}

func (a *acquirer) holder() Holder { return decodeHolder(holderOf(a.cur)) }

func (a *acquirer) tellProbe(d time.Duration) {
	if a.opts.OnWait == nil || a.toldProbe {
		return
	}
	a.toldProbe = true
	if h := a.holder(); h.RunID == decodeHolder(a.me).RunID {
		// A resume or undo finding its own run's earlier process: not
		// another run holding the lock.
		a.opts.OnWait(fmt.Sprintf("run %s still holds lock %q (%s); waiting up to %s to see whether that process still renews it",
			h.RunID, a.name, h.Who, d.Round(100*time.Millisecond)))
		return
	}
	a.opts.OnWait(fmt.Sprintf("lock %q is held by %s; waiting up to %s to see whether it still renews",
		a.name, a.holder(), d.Round(100*time.Millisecond)))
}

func (a *acquirer) tellWaiting(now time.Time) {
	if a.opts.OnWait == nil || a.toldWait {
		return
	}
	a.toldWait = true
	// Before we saw it renew, the holder's own renewTime is all there is:
	// informative, though on another clock.
	var ago time.Duration
	if !a.renewed.IsZero() {
		ago = now.Sub(a.renewed)
	} else if rt := a.cur.Spec.RenewTime; rt != nil {
		ago = max(now.Sub(rt.Time), 0)
	}
	a.opts.OnWait(fmt.Sprintf("waiting up to %s for lock %q held by %s, renewed %s ago",
		a.opts.Wait, a.name, a.holder(), ago.Round(time.Second)))
}

func (a *acquirer) held() *HeldError {
	e := &HeldError{Name: a.name, Holder: a.holder(), Renewed: a.renewed}
	if at := a.cur.Spec.AcquireTime; at != nil {
		e.Since = at.Time
	}
	return e
}

// take writes us in as the holder of the observed record. The update
// carries the record's resourceVersion: if anything changed since we
// judged it, it fails and we look again (deleted reports a Lease gone).
func (a *acquirer) take(ctx context.Context) (_ Lock, deleted bool, _ error) {
	sent := a.t.clock.Now()
	next := a.cur.DeepCopy()
	fresh := a.newLease(sent).Spec
	if h := holderOf(next); h != "" && h != a.me {
		t := int32(1)
		if next.Spec.LeaseTransitions != nil {
			t += *next.Spec.LeaseTransitions
		}
		fresh.LeaseTransitions = &t
	} else {
		fresh.LeaseTransitions = next.Spec.LeaseTransitions
	}
	next.Spec = fresh
	updated, err := a.leases().Update(ctx, next, metav1.UpdateOptions{})
	switch {
	case err == nil:
		return a.l.hold(a.t, a.name, a.me, updated, sent), false, nil
	case apierrors.IsNotFound(err):
		return nil, true, nil
	case !apierrors.IsConflict(err):
		return nil, false, fmt.Errorf("taking lock %q from %s: %w", a.name, a.holder(), err)
	}
	cur, err := a.leases().Get(ctx, a.lease, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading lock %q: %w", a.name, err)
	}
	a.observe(cur)
	return nil, false, nil
}

// next waits up to d for the Lease to change, on a watch from the
// resourceVersion last seen (so that nothing written since is missed). It
// reports whether the Lease was deleted.
func (a *acquirer) next(ctx context.Context, d time.Duration) (deleted bool, _ error) {
	if a.w == nil {
		w, err := a.leases().Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", a.lease).String(),
			ResourceVersion: a.cur.ResourceVersion,
		})
		if err != nil {
			return false, fmt.Errorf("watching lock %q: %w", a.name, err)
		}
		a.w = w
	}
	timer := a.t.clock.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("waiting for lock %q held by %s: %w", a.name, a.holder(), ctx.Err())
		case ev, ok := <-a.w.ResultChan():
			if done, deleted, err := a.event(ctx, ev, ok); done {
				return deleted, err
			}
		case <-timer.C():
			// Time is up, but a renewal may sit in the channel already:
			// judge it before taking anything over.
			for {
				select {
				case ev, ok := <-a.w.ResultChan():
					if done, deleted, err := a.event(ctx, ev, ok); done {
						return deleted, err
					}
					continue
				default:
				}
				return false, nil
			}
		}
	}
}

// event handles one watch event; done says whether anything changed.
func (a *acquirer) event(ctx context.Context, ev watch.Event, ok bool) (done, deleted bool, _ error) {
	if !ok {
		// The server ended the watch (its timeout): start another from
		// the last resourceVersion seen.
		a.stopWatch()
		return true, false, nil
	}
	switch ev.Type {
	case watch.Added, watch.Modified:
		if lease, isLease := ev.Object.(*coordv1.Lease); isLease && lease.Name == a.lease {
			a.observe(lease)
			return true, false, nil
		}
	case watch.Deleted:
		if lease, isLease := ev.Object.(*coordv1.Lease); isLease && lease.Name == a.lease {
			return true, true, nil
		}
	case watch.Error:
		// Most likely our resourceVersion is too old to watch from: read
		// the Lease again and watch from there.
		a.stopWatch()
		cur, err := a.leases().Get(ctx, a.lease, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, true, nil
		}
		if err != nil {
			return true, false, fmt.Errorf("reading lock %q: %w", a.name, err)
		}
		a.observe(cur)
		return true, false, nil
	}
	return false, false, nil // a bookmark, or another Lease
}

func (a *acquirer) stopWatch() {
	if a.w != nil {
		a.w.Stop()
		a.w = nil
	}
}

// leaseLock is a held Lease, renewed in the background.
type leaseLock struct {
	client kubernetes.Interface
	ns     string
	t      timing
	name   string
	me     string

	lost    chan struct{}
	stop    chan struct{}      // closed by Release: renew no more
	cancel  context.CancelFunc // cuts a renewal in flight short
	done    chan struct{}      // closed when renewing stopped
	release sync.Once

	mu    sync.Mutex
	lease *coordv1.Lease // as last written or read by us
	err   error          // why the lock was lost
	gone  bool           // the Lease is no longer ours to delete
}

// hold starts renewing lease, written by a request sent at sent.
func (l *LeaseLocker) hold(t timing, name, me string, lease *coordv1.Lease, sent time.Time) *leaseLock {
	ctx, cancel := context.WithCancel(context.Background())
	client := l.renewer
	if client == nil {
		client = l.client
	}
	k := &leaseLock{client: client, ns: l.ns, t: t, name: name, me: me, lease: lease,
		lost: make(chan struct{}), stop: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	go k.renew(ctx, sent)
	return k
}

func (k *leaseLock) Lost() <-chan struct{} { return k.lost }

func (k *leaseLock) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}

func (k *leaseLock) leases() coordclient.LeaseInterface {
	return k.client.CoordinationV1().Leases(k.ns)
}

// lostError is a renewal failure that ends the lock at once.
type lostError struct {
	err  error
	gone bool // the Lease is deleted or someone else's
}

func (e *lostError) Error() string { return e.err.Error() }

func (k *leaseLock) lose(err error, gone bool) {
	k.mu.Lock()
	k.err, k.gone = err, gone
	k.mu.Unlock()
	close(k.lost)
}

// renew keeps the Lease ours until Release or the loss of the lock. The renew
// deadline counts from when the last successful request was sent, not
// when its answer came: an observer can only have seen that write after it
// was sent, so we stop trusting the lock strictly before anyone may take
// it.
func (k *leaseLock) renew(ctx context.Context, lastOK time.Time) {
	defer close(k.done)
	c := k.t.clock
	next := lastOK.Add(k.t.every)
	var lastErr error
	for {
		deadline := lastOK.Add(k.t.deadline)
		if deadline.Before(next) {
			next = deadline
		}
		timer := c.NewTimer(next.Sub(c.Now()))
		select {
		case <-k.stop:
			timer.Stop()
			return
		case <-timer.C():
		}
		now := c.Now()
		if !now.Before(deadline) {
			msg := fmt.Sprintf("lock %q: not renewed for %s", k.name, k.t.deadline)
			if lastErr != nil {
				k.lose(fmt.Errorf("%s: %w", msg, lastErr), false)
			} else {
				k.lose(errors.New(msg), false)
			}
			return
		}
		rctx, cancel := context.WithTimeout(ctx, deadline.Sub(now))
		err := k.renewOnce(rctx, now)
		cancel()
		var lost *lostError
		switch {
		case ctx.Err() != nil:
			return // Release cut it short
		case err == nil:
			lastOK, lastErr, next = now, nil, now.Add(k.t.every)
		case errors.As(err, &lost):
			k.lose(lost.err, lost.gone)
			return
		default:
			lastErr, next = err, now.Add(k.t.retry)
		}
	}
}

// renewOnce writes a new renewTime with the Lease we hold (one request, no
// read). Only on a conflict does it read the Lease, to tell a Lease taken
// from one merely touched.
func (k *leaseLock) renewOnce(ctx context.Context, now time.Time) error {
	k.mu.Lock()
	lease := k.lease.DeepCopy()
	k.mu.Unlock()
	for try := 0; ; try++ {
		mt := metav1.NewMicroTime(now)
		lease.Spec.RenewTime = &mt
		updated, err := k.leases().Update(ctx, lease, metav1.UpdateOptions{})
		if err == nil {
			k.mu.Lock()
			k.lease = updated
			k.mu.Unlock()
			return nil
		}
		if !apierrors.IsConflict(err) || try > 0 {
			return k.classify(err)
		}
		cur, err := k.leases().Get(ctx, lease.Name, metav1.GetOptions{})
		if err != nil {
			return k.classify(err)
		}
		if holderOf(cur) != k.me {
			return &lostError{err: fmt.Errorf("lock %q: taken over by %s", k.name, decodeHolder(holderOf(cur))), gone: true}
		}
		lease = cur
	}
}

// classify turns the errors that end a lock at once into *lostError.
func (k *leaseLock) classify(err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return &lostError{err: fmt.Errorf("lock %q: the Lease was deleted", k.name), gone: true}
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		// Retrying a denied update only runs the clock down: nobody will
		// grant the permission within the renew deadline.
		return &lostError{err: fmt.Errorf("lock %q: renewal denied: %w", k.name, err)}
	}
	return err
}

// Release gives the lock up if it is still ours. It may be called after
// the lock was lost, and more than once.
func (k *leaseLock) Release(ctx context.Context) error {
	first := false
	k.release.Do(func() { first = true })
	if !first {
		return nil
	}
	// Let a renewal in flight finish, so that we delete the version it
	// wrote; cut it short only if ctx ends first.
	close(k.stop)
	select {
	case <-k.done:
	case <-ctx.Done():
		k.cancel()
		<-k.done
	}
	k.cancel()
	k.mu.Lock()
	lease, gone := k.lease, k.gone
	k.mu.Unlock()
	if gone {
		return nil
	}
	// Delete only the version we last wrote: if someone took the lock over
	// since, the precondition fails and their Lease stays. One request, no
	// read.
	err := k.delete(ctx, lease)
	if apierrors.IsConflict(err) {
		// A renewal cut short by Release may have landed after all: read
		// the Lease, and delete it if it is still ours.
		cur, gerr := k.leases().Get(ctx, lease.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(gerr):
			return nil
		case gerr != nil:
			return fmt.Errorf("releasing lock %q: %w", k.name, gerr)
		case holderOf(cur) != k.me:
			return nil
		}
		err = k.delete(ctx, cur)
	}
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return fmt.Errorf("releasing lock %q: %w", k.name, err)
}

func (k *leaseLock) delete(ctx context.Context, lease *coordv1.Lease) error {
	rv := lease.ResourceVersion
	return k.leases().Delete(ctx, lease.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
}
