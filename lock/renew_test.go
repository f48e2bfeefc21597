package lock

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// A lock whose renewals keep failing (the API server unreachable) must be
// reported lost once the lease could have expired. (A fake clientset: a
// real API server cannot be made to fail on demand.)
func TestLeaseLostWhenRenewalFailsPastDuration(t *testing.T) {
	client := fake.NewSimpleClientset()
	l := &LeaseLocker{client: client, ns: "ns", Duration: 600 * time.Millisecond}
	ctx := context.Background()
	lk, err := l.Acquire(ctx, "x", "job-a", false)
	if err != nil {
		t.Fatal(err)
	}
	client.PrependReactor("*", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("apiserver restarting")
	})
	select {
	case <-lk.Lost():
	case <-time.After(30 * time.Second):
		t.Fatal("Lost not closed while every renewal failed")
	}
	_ = lk.Release(ctx)
}
