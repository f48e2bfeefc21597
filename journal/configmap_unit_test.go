package journal

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/cutoverhq/cutover/kube"
)

// The end of a run (its last entries and its status) is one request when
// the journal has a single part.
func TestSetStatusWithEntriesIsOnePatch(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	s := NewConfigMapStore(&kube.Clients{Typed: client}, "ns")
	j, err := s.Create(ctx, Meta{Pipeline: "p", Status: "running"})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(ctx, Entry{Kind: KindStage, Stage: "a", Status: "started"}); err != nil {
		t.Fatal(err)
	}
	client.ClearActions()
	if err := j.SetStatus(ctx, "failed, undone", Entry{Kind: KindStage, Stage: "a", Status: "failed"}, Entry{Kind: KindResult, Status: "failed, undone"}); err != nil {
		t.Fatal(err)
	}
	var patches int
	for _, a := range client.Actions() {
		if _, ok := a.(k8stesting.PatchAction); ok {
			patches++
		} else {
			t.Errorf("unexpected %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
	if patches != 1 {
		t.Fatalf("%d patches; want 1", patches)
	}
	cm, err := client.CoreV1().ConfigMaps("ns").Get(ctx, partName(j.Meta().RunID, 1), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels[LabelStatus] != "failed-undone" || len(cm.Data) != 3 {
		t.Fatalf("status label %q, %d entries; want failed-undone and 3", cm.Labels[LabelStatus], len(cm.Data))
	}
	entries, err := j.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[2].Kind != KindResult || entries[2].Seq != 3 || j.Meta().Status != "failed, undone" {
		t.Fatalf("entries %+v, status %q", entries, j.Meta().Status)
	}
}
