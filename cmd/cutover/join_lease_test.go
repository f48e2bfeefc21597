package main

import (
	"strings"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/lock"
)

// join names a share whose lock is past its lease without saying it runs:
// what is known (not renewed for so long, judged dead after three leases);
// within its lease the share is still running, as before.
func TestJoinLapsedShare(t *testing.T) {
	for _, tc := range []struct {
		ago  time.Duration
		want string
	}{
		{5 * time.Second, "target eu is still running (lock held by run r1 (root@vm (pid 9)), last renewed 5s ago); join again once its job ended"},
		{29 * time.Second, "target eu may have stopped: lock held by run r1 (root@vm (pid 9)), not renewed for 29s (its lease is 15s; it is judged dead after 45s); join again then, or once its job ended"},
	} {
		holder, secs := `{"run":"r1","who":"root@vm (pid 9)"}`, int32(15)
		rt := metav1.NewMicroTime(time.Now().Add(-tc.ago))
		cs := fake.NewClientset(&coordv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "cutover-lock-p", Namespace: "ns"},
			Spec:       coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &rt},
		})
		sh := shareRead{locker: lock.NewLeaseLocker(&kube.Clients{Typed: cs}, "ns"), meta: &journal.Meta{RunID: "r1", Lock: "p", Status: journal.StatusRunning}}
		got := (&cli{}).unfinished(nil, "eu", "r1", sh, &options{})
		if got != tc.want {
			t.Errorf("renewed %s ago:\n got %s\nwant %s", tc.ago, got, tc.want)
		}
		if tc.ago > 15*time.Second && strings.Contains(got, "still running") {
			t.Errorf("a share past its lease is said to run: %s", got)
		}
	}
}
