package github

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/lock"
)

// TestActionLockHeld: another run holds the pipeline's lock (and renews
// it). The action exits 4 with result=locked and an annotation naming the
// holder, so the run's page and the next step say why nothing was released.
func TestActionLockHeld(t *testing.T) {
	bin := cutoverOnPath(t)
	ctx, ns, kubeconfig := testcluster.Namespace(t, "action-lock", 2*time.Minute)
	cl, err := kube.New(kube.Options{Kubeconfig: kubeconfig}).Clients()
	if err != nil {
		t.Fatal(err)
	}
	other, err := lock.NewLeaseLocker(cl, ns).Acquire(ctx, "locked", lock.Holder{RunID: "20261203-120000-0badc0de", Who: "the other job"}, lock.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release(ctx)

	dir := writePipeline(t, `
pipeline "locked" {}
stage "never" {
  exec { command = ["false"] }
}
`)
	kc, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	r := runActionWith(t, map[string]string{
		"pipeline":   "deploy",
		"kubeconfig": string(kc),
		"namespace":  ns,
	}, dir, bin)
	if r.code != 4 {
		t.Fatalf("exit %d, want 4 (lock held):\n%s", r.code, r.log)
	}
	if r.outputs["result"] != "locked" || r.outputs["run-id"] != "" {
		t.Errorf("outputs result=%q run-id=%q, want locked and no run id\n%s", r.outputs["result"], r.outputs["run-id"], r.log)
	}
	// ":" in a property is escaped, as the runner wants it.
	want := `::error title=cutover%3A lock held::lock "locked" is held by run 20261203-120000-0badc0de (the other job)`
	if !strings.Contains(r.log, want) {
		t.Errorf("no annotation %q in:\n%s", want, r.log)
	}
}

// TestActionRunNotStarted: a run that cannot reach its cluster stops
// before any report (exit 1); the step still gets result (nothing was
// changed: "failed, undone", as a run that failed before any stage wrote)
// and an annotation saying why.
func TestActionRunNotStarted(t *testing.T) {
	bin := cutoverOnPath(t)
	dir := writePipeline(t, `
pipeline "unreachable" {}
stage "never" {
  exec { command = ["false"] }
}
`)
	// Nothing listens on port 1.
	kc := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: ns}}]
current-context: x
`
	r := runActionWith(t, map[string]string{"pipeline": "deploy", "kubeconfig": kc}, dir, bin)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (the cluster could not be reached):\n%s", r.code, r.log)
	}
	if r.outputs["result"] != "failed, undone" || r.outputs["run-id"] != "" {
		t.Errorf("outputs result=%q run-id=%q, want \"failed, undone\" and no run id\n%s", r.outputs["result"], r.outputs["run-id"], r.log)
	}
	if !strings.Contains(r.log, "::error title=cutover%3A run not started::") || !strings.Contains(r.log, "127.0.0.1:1") {
		t.Errorf("no annotation naming the cluster in:\n%s", r.log)
	}
}
