package route

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
)

// The switch's wait starts its pod watch from the guard's list, read before
// the patch, instead of listing the pods again.
func TestFakeSwitchSelectorWaitReusesTheGuardsList(t *testing.T) {
	var recs []json.RawMessage
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web", "version": "v1"}}}
	pod := readyPod("web-v2", map[string]string{"app": "web", "version": "v2"}, true)
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.2"},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-v2", Namespace: "shop"}}},
	}
	env, cs := fakeEnv(t, &recs, svc, pod, slice)
	// The fake's lists carry no resourceVersion; the server's do.
	cs.PrependReactor("list", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "42"}, Items: []corev1.Pod{*pod}}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k := switchSelector{}
	if _, err := k.Run(ctx, env, cfgOf(t, k, "service = \"web\"\nselector = { version = \"v2\" }")); err != nil {
		t.Fatal(err)
	}
	lists, watches := 0, []string{}
	for _, a := range cs.Actions() {
		if a.GetResource().Resource != "pods" {
			continue
		}
		switch a.GetVerb() {
		case "list":
			lists++
		case "watch":
			watches = append(watches, a.(clienttesting.WatchActionImpl).WatchRestrictions.ResourceVersion)
		}
	}
	if lists != 1 || len(watches) != 1 || watches[0] != "42" {
		t.Fatalf("pod lists = %d, watches from %v; want the guard's list alone and one watch from its resourceVersion 42", lists, watches)
	}
}

// firstList answers the informer's first list with the list held, every
// later one (a relist after 410 Gone) from the server; a list without a
// resourceVersion or with a continue token is never used.
func TestFirstList(t *testing.T) {
	calls := 0
	server := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "50"}}
	list := func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		calls++
		return server, nil
	}
	held := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "7"}}
	f := firstList(held, list)
	for i, want := range []runtime.Object{held, server, server} {
		got, err := f(context.Background(), metav1.ListOptions{})
		if err != nil || got != want {
			t.Fatalf("call %d: got %v, %v", i+1, got, err)
		}
	}
	if calls != 2 {
		t.Fatalf("server lists = %d, want 2", calls)
	}
	for _, held := range []*corev1.PodList{nil, {}, {ListMeta: metav1.ListMeta{ResourceVersion: "7", Continue: "x"}}} {
		calls = 0
		if got, _ := firstList(held, list)(context.Background(), metav1.ListOptions{}); got != server || calls != 1 {
			t.Fatalf("held %v was used", held)
		}
	}
}
