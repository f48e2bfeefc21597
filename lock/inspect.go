package lock

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Sighting is one look at a lock, for `cutover status`: who held it and when
// it was last renewed as the holder wrote it. One look cannot tell a live
// holder from a dead one (that takes watching for a lease duration, as
// Acquire does); it can tell a lock that is gone or held by another run.
type Sighting struct {
	Found    bool
	Holder   Holder
	Renewed  time.Time     // the holder's renewTime, on the holder's clock
	Duration time.Duration // the lease duration the holder wrote
}

// Look reads the lock once.
func (l *LeaseLocker) Look(ctx context.Context, name string) (Sighting, error) {
	lease, err := l.client.CoordinationV1().Leases(l.ns).Get(ctx, leaseName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Sighting{}, nil
	}
	if err != nil {
		return Sighting{}, err
	}
	s := Sighting{Found: holderOf(lease) != "", Holder: decodeHolder(holderOf(lease))}
	if lease.Spec.RenewTime != nil {
		s.Renewed = lease.Spec.RenewTime.Time
	}
	if lease.Spec.LeaseDurationSeconds != nil {
		s.Duration = time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
	}
	return s, nil
}
