package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// fakeRouter keeps its canary weight in the data of a ConfigMap named by
// the `pool` attribute: a router that lives in a test file only, to show a
// router is one implementation registered in one place.
type fakeRouter struct{}

func (fakeRouter) Name() string { return "fake-lb" }
func (fakeRouter) AttrDocs() map[string]string {
	return map[string]string{"pool": "the pool."}
}

func (fakeRouter) Spec() hcldec.ObjectSpec {
	return steps.SpecFor[struct {
		Pool string `hcl:"pool,required"`
	}]()
}

func (fakeRouter) Object() string { return "pool" }

func (fakeRouter) Check(cfg cty.Value) []steps.Problem {
	if h := cfg.GetAttr("header"); h.IsKnown() && !h.IsNull() {
		return []steps.Problem{{Path: []string{"header"}, Summary: "No header match", Detail: "fake-lb splits by weight only."}}
	}
	return nil
}

func (fakeRouter) Permissions() []steps.Permission {
	return []steps.Permission{rule("", "configmaps", "set the pool's weight", "get", "update")}
}

type fakeRecord struct {
	RecordHead
	Weight *string `json:"weight"`
}

func (fakeRouter) Ref(raw json.RawMessage) (kube.Ref, error) {
	var rec fakeRecord
	err := json.Unmarshal(raw, &rec)
	return kube.Ref{APIVersion: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: rec.Namespace, Name: rec.Name}, err
}

func (r fakeRouter) Run(ctx context.Context, env *steps.Env, cl *kube.Clients, s Traffic) (any, error) {
	cms := cl.Typed.CoreV1().ConfigMaps(s.Namespace)
	cm, err := cms.Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	w := strconv.FormatInt(s.Weight, 10)
	rec := fakeRecord{RecordHead: RecordHead{Router: s.Router, Namespace: s.Namespace, Name: s.Name, Want: w}}
	if v, ok := cm.Data["weight"]; ok {
		rec.Weight = &v
	}
	if err := env.Record(rec); err != nil {
		return nil, err
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data["weight"] = w
	out, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	ref, _ := r.Ref(mustJSON(rec))
	env.Remember(kube.Written{Wrote: ref, UID: string(out.UID), Digest: out.Data["weight"]})
	return rec.Weight, nil
}

func (fakeRouter) Plan(ctx context.Context, env *steps.Env, cl *kube.Clients, s Traffic) (string, error) {
	return fmt.Sprintf("configmap/%s: weight %d\n", s.Name, s.Weight), nil
}

func (fakeRouter) Undo(ctx context.Context, env *steps.Env, cl *kube.Clients, recs []json.RawMessage, g UndoGuard) (string, error) {
	var rec fakeRecord
	if err := json.Unmarshal(recs[len(recs)-1], &rec); err != nil {
		return "", err
	}
	cms := cl.Typed.CoreV1().ConfigMaps(rec.Namespace)
	cm, err := cms.Get(ctx, rec.Name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if why, err := g.Check("configmap/"+rec.Name, string(cm.UID), cm.Annotations, cm.Data["weight"]); why != "" || err != nil {
		return why, err
	}
	if rec.Weight == nil {
		delete(cm.Data, "weight")
	} else {
		cm.Data["weight"] = *rec.Weight
	}
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	return "", err
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// withFakeRouter registers fakeRouter for one test.
func withFakeRouter(t *testing.T) {
	t.Helper()
	RegisterRouter(fakeRouter{})
	t.Cleanup(func() {
		routersMu.Lock()
		delete(routers, fakeRouter{}.Name())
		routersMu.Unlock()
	})
}

func TestRouterRegistryCheck(t *testing.T) {
	withFakeRouter(t)
	k := trafficKind{}
	// The kind's schema takes the router's own attribute.
	cfgOf(t, k, "router = \"fake-lb\"\npool = \"web\"\nweight = 10")

	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"object missing", `router = "fake-lb"`, []string{"Missing attribute"}},
		{"router's own check", "router = \"fake-lb\"\npool = \"web\"\nheader {\n name = \"x\"\n}", []string{"No header match"}},
		{"unknown router", `router = "traefik"`, []string{"Unknown router"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := parseBody(t, c.src)
			v, diags := hcldec.Decode(f, k.Spec(), nil)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			ps := k.Check(v)
			if got := summaries(ps); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Check = %q, want %q", got, c.want)
			}
			if c.name == "unknown router" {
				var names []string
				for _, r := range routerList() {
					names = append(names, strconv.Quote(r.Name()))
				}
				want := `router "traefik" is not supported; use ` + words.Or(names) + "."
				if ps[0].Detail != want {
					t.Fatalf("detail = %q, want %q", ps[0].Detail, want)
				}
			}
		})
	}
}

func TestRouterRegistryRunUndo(t *testing.T) {
	withFakeRouter(t)
	var recs []json.RawMessage
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "cm-uid"},
		Data: map[string]string{"weight": "5", "other": "x"}}
	env, cs := fakeEnv(t, &recs, cm)
	k := trafficKind{}
	ctx := context.Background()
	weight := func() string {
		got, err := cs.CoreV1().ConfigMaps("shop").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Data["weight"]
	}
	var cfg cty.Value
	for i, w := range []int{10, 30} {
		cfg = cfgOf(t, k, fmt.Sprintf("router = \"fake-lb\"\npool = \"web\"\nweight = %d", w))
		out, err := k.Run(ctx, env, cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{`"5"`, `"10"`}[i]
		if got := out.GetAttr("previous_json").AsString(); got != want {
			t.Fatalf("run %d: previous_json = %s, want %s", i, got, want)
		}
	}
	if w := weight(); w != "30" {
		t.Fatalf("weight after the runs = %q", w)
	}
	plan, err := k.Plan(ctx, env, cfg)
	if err != nil || plan != "configmap/web: weight 30\n" {
		t.Fatalf("plan = %q, %v", plan, err)
	}

	// Someone moves the weight: the kind's drift guard, fed from the
	// router's records and notes, leaves it.
	got, _ := cs.CoreV1().ConfigMaps("shop").Get(ctx, "web", metav1.GetOptions{})
	got.Data["weight"] = "50"
	if _, err := cs.CoreV1().ConfigMaps("shop").Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.Config = cfg
	var de *steps.DriftError
	if err := k.Undo(ctx, env, recs); !errors.As(err, &de) || !strings.Contains(de.Changed[0], "fake-lb web in namespace shop") {
		t.Fatalf("undo after a change = %v, want a DriftError naming the pool", err)
	}
	if w := weight(); w != "50" {
		t.Fatalf("the person's weight was overwritten: %q", w)
	}
	// Put back the weight the run set: the oldest record decides.
	got, _ = cs.CoreV1().ConfigMaps("shop").Get(ctx, "web", metav1.GetOptions{})
	got.Data["weight"] = "30"
	if _, err := cs.CoreV1().ConfigMaps("shop").Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := k.Undo(ctx, env, recs); err != nil {
		t.Fatal(err)
	}
	if w := weight(); w != "5" {
		t.Fatalf("weight after undo = %q, want the one before the first run", w)
	}

	// A stage that now names another pool refuses the records.
	env.Config = cfgOf(t, k, "router = \"fake-lb\"\npool = \"api\"")
	var te *steps.TargetError
	if err := k.Undo(ctx, env, recs); !errors.As(err, &te) {
		t.Fatalf("undo for another target = %v, want a TargetError", err)
	}
}

// A record as the traffic kind wrote it before routers had their own record
// types (one struct for every router, want last) still undoes.
func TestNginxUndoOldRecord(t *testing.T) {
	var recs []json.RawMessage
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web-canary", Namespace: "shop", UID: "ing-uid",
		Annotations: map[string]string{nginxCanary: "true", nginxCanary + "-weight": "30", kube.AnnotationRun: "run-1", "keep": "me"}}}
	env, cs := fakeEnv(t, &recs, ing)
	old := `{"router":"ingress-nginx","namespace":"shop","name":"web-canary","annotations":{"` +
		nginxCanary + `":null,"` + nginxCanary + `-weight":null,"` + kube.AnnotationRun + `":null},"want":"` +
		nginxDigest(map[string]string{nginxCanary: "true", nginxCanary + "-weight": "30"}) + `"}`
	env.Config = cfgOf(t, trafficKind{}, "router = \"ingress-nginx\"\ningress = \"web-canary\"\nweight = 30")
	if err := (trafficKind{}).Undo(context.Background(), env, []json.RawMessage{json.RawMessage(old)}); err != nil {
		t.Fatal(err)
	}
	got, _ := cs.NetworkingV1().Ingresses("shop").Get(context.Background(), "web-canary", metav1.GetOptions{})
	if want := map[string]string{"keep": "me"}; !reflect.DeepEqual(got.Annotations, want) {
		t.Fatalf("annotations after undo = %v, want %v", got.Annotations, want)
	}
}

// Until rbac.go asks the routers, its rules must be theirs.
func TestRegisterRouterTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a second router named ingress-nginx must panic")
		}
	}()
	RegisterRouter(nginxRouter{})
}

func parseBody(t *testing.T, src string) hcl.Body {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return f.Body
}
