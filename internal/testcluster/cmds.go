package testcluster

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/cutoverhq/cutover/kube"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/jsonpath"
	"k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/polymorphichelpers"
	"k8s.io/utils/ptr"
)

// envDirectKubeconfig names the scenario's kubeconfig that talks to the
// apiserver directly; the k* commands use it even when kproxy has pointed
// KUBECONFIG at the fault-injecting proxy.
const envDirectKubeconfig = "TESTCLUSTER_KUBECONFIG"

// DefaultTimeout bounds kwait, kpods and the other waits unless a timeout is
// given.
const DefaultTimeout = 60 * time.Second

// FieldManager is the field manager of kapply.
const FieldManager = "testcluster"

// Cmds returns the testscript commands for the cluster:
//
//	cluster [-process] [PREFIX]
//	    ensure the shared control plane, create a fresh namespace, set
//	    KUBECONFIG (context namespace = the new one), NAMESPACE,
//	    TESTCLUSTER_KUBECONFIG and REGISTRY_URL (the namespace's space in
//	    the process pods' registry, see agent.go). -process: every pod of
//	    the namespace runs on the process nodes (ProcessNamespace).
//	clusters N [PREFIX]
//	    N control planes at once (fleet.go): a namespace in each, one
//	    kubeconfig with contexts c1…cN, KUBECONFIG_i and NAMESPACE_i.
//	[!] kapply FILE...
//	    server-side apply (field manager "testcluster", force) of multi-doc
//	    YAML/JSON; namespaced objects without a namespace go to $NAMESPACE,
//	    and $NAMESPACE / ${NAMESPACE} in the files is replaced.
//	[!] kget [-n NS] KIND NAME [JSONPATH [EXPECTED]]
//	[!] kget [-n NS] -l SELECTOR KIND [JSONPATH [EXPECTED]]
//	kget [-n NS] [-l SELECTOR] -env VAR KIND [NAME] JSONPATH
//	    without JSONPATH: the object exists (! : it does not; with -l: no
//	    object matches); with JSONPATH alone: print its value to stdout (and
//	    with -env store it in $VAR); with EXPECTED: the value equals
//	    EXPECTED (! : it differs). With -l the JSONPATH applies to a List of
//	    the matches sorted by name ({.items[0].spec.replicas}).
//	kwait [-n NS] [-l SELECTOR] KIND [NAME] CONDITION... [TIMEOUT]
//	    CONDITION is JSONPATH=VALUE, exists or deleted. Watches until all
//	    conditions hold at once; on timeout fails with the values last seen.
//	[!] krollout-status [-n NS] DEPLOYMENT [TIMEOUT]
//	    kubectl rollout status: watch until the rollout is complete
//	    (! : until it fails, e.g. its progress deadline was exceeded).
//	kpods [-n NS] [-all] SELECTOR COUNT [TIMEOUT]
//	    watch until exactly COUNT pods matching SELECTOR are Ready and not
//	    terminating (-all: exist at all, terminating or not).
//	[!] kdelete [-n NS] [-wait] KIND NAME...
//	kscale [-n NS] KIND NAME REPLICAS
//	krollout-undo [-n NS] [-to-revision N] DEPLOYMENT
//	    kubectl rollout undo (k8s.io/kubectl's rollbacker).
//	kproxy [-fail RATE] [-conflict RATE] [-drop RATE] [-delay DURATION]
//	       [-match REGEXP] [-watch] [-seed N]
//	kproxy stats | off
//	ksa [-n NS] SERVICEACCOUNT FILE
//	    write a kubeconfig acting as that ServiceAccount (TokenRequest).
//	registry expect APP PREFIX [up=N] [down=N] [downup=N]
//	registry down-first APP PREFIX N
//	    the process pods' registry now, and DOWN before each pod's
//	    termination began (cmd_registry.go).
//	    start a fault-injecting proxy in front of the apiserver and point
//	    KUBECONFIG at it (KPROXY_URL is its address); see kproxy.go.
//
// Every k* command also takes -kubeconfig PATH: by default they talk to the
// apiserver directly (TESTCLUSTER_KUBECONFIG), even after kproxy; use
// -kubeconfig=$KUBECONFIG to go through the proxy.
//
// KIND is anything kubectl takes: deploy, deployments, Deployment,
// deployments.apps, rs, svc, endpointslices, ... JSONPATH is kubectl's
// syntax ({.status.readyReplicas}; the braces may be left out).
func Cmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"cluster":         cmdCluster,
		"clusters":        cmdClusters,
		"kapply":          cmdKapply,
		"kget":            cmdKget,
		"kwait":           cmdKwait,
		"kpods":           cmdKpods,
		"kdelete":         cmdKdelete,
		"kscale":          cmdKscale,
		"krollout-undo":   cmdRolloutUndo,
		"krollout-status": cmdRolloutStatus,
		"kproxy":          cmdKproxy,
		"ksa":             cmdKsa,
		"registry":        cmdRegistry,
	}
}

func cmdCluster(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! cluster")
	}
	process := len(args) > 0 && args[0] == "-process"
	if process {
		args = args[1:]
	}
	if len(args) > 1 {
		ts.Fatalf("usage: cluster [-process] [PREFIX]")
	}
	c, err := Get()
	if err != nil {
		ts.Fatalf("testcluster: %v", err)
	}
	markUsed(ts)
	prefix := ts.Name()
	if len(args) == 1 {
		prefix = args[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	ns, kubeconfig, err := c.NewNamespace(ctx, prefix)
	ts.Check(err)
	if process {
		ts.Check(ProcessNamespace(ctx, c.client, ns))
	}
	ts.Setenv(envDirectKubeconfig, kubeconfig)
	ts.Setenv("KUBECONFIG", kubeconfig)
	ts.Setenv("NAMESPACE", ns)
	setDataPlaneEnv(ts, c)
	ts.Setenv("REGISTRY_URL", c.RegistryURL(ns))
	ts.Logf("namespace %s on %s", ns, c.Server())
}

// clients are cached by kubeconfig path.
type clients struct {
	cfg      *rest.Config
	ns       string
	dyn      dynamic.Interface
	cs       kubernetes.Interface
	mapper   meta.ResettableRESTMapper
	expander meta.RESTMapper
}

var clientCache sync.Map // kubeconfig path -> *clients

// scenarioClients are for the scenario's direct kubeconfig, or the one -kubeconfig names.
func scenarioClients(ts *testscript.TestScript, f *commonFlags) *clients {
	path := f.kubeconfig
	if path == "" {
		path = ts.Getenv(envDirectKubeconfig)
	}
	if path == "" {
		path = ts.Getenv("KUBECONFIG")
	}
	if path == "" {
		ts.Fatalf("no cluster: run the cluster command first")
	}
	path = ts.MkAbs(path)
	data, err := os.ReadFile(path)
	ts.Check(err)
	key := path + "\x00" + string(data) // a rewritten kubeconfig gets new clients
	if v, ok := clientCache.Load(key); ok {
		return v.(*clients)
	}
	cl, err := newClients(path)
	ts.Check(err)
	v, _ := clientCache.LoadOrStore(key, cl)
	return v.(*clients)
}

func newClients(kubeconfig string) (*clients, error) {
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}, &clientcmd.ConfigOverrides{})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, err
	}
	ns, _, err := loader.Namespace()
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200
	cl := &clients{cfg: cfg, ns: ns}
	if cl.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if cl.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(dc)
	cl.mapper = restmapper.NewDeferredDiscoveryRESTMapper(cached)
	cl.expander = restmapper.NewShortcutExpander(cl.mapper, cached, func(string) {})
	return cl, nil
}

// mapping resolves a KIND argument, refreshing discovery once when it is
// unknown (a CRD applied by the scenario).
func (cl *clients) mapping(kind string) (*meta.RESTMapping, error) {
	gr := schema.ParseGroupResource(strings.ToLower(kind))
	var err error
	for try := 0; try < 2; try++ {
		var gvr schema.GroupVersionResource
		gvr, err = cl.expander.ResourceFor(gr.WithVersion(""))
		if err == nil {
			var gvk schema.GroupVersionKind
			if gvk, err = cl.expander.KindFor(gvr); err == nil {
				return cl.expander.RESTMapping(gvk.GroupKind(), gvk.Version)
			}
		}
		if !meta.IsNoMatchError(err) {
			break
		}
		cl.mapper.Reset()
	}
	return nil, fmt.Errorf("unknown kind %q: %v", kind, err)
}

func (cl *clients) mappingForGVK(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := cl.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		cl.mapper.Reset()
		m, err = cl.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return m, err
}

func (cl *clients) resource(m *meta.RESTMapping, ns string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return cl.dyn.Resource(m.Resource).Namespace(ns)
	}
	return cl.dyn.Resource(m.Resource)
}

// commonFlags parses the flags the object commands share.
type commonFlags struct {
	fs         *flag.FlagSet
	ns         string
	selector   string
	all        bool
	wait       bool
	toRev      int64
	env        string
	kubeconfig string
}

func parseFlags(ts *testscript.TestScript, name string, args []string, setup func(*commonFlags)) (*commonFlags, []string) {
	f := &commonFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(io.Discard)
	f.fs.StringVar(&f.ns, "n", "", "namespace")
	f.fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig (default: the scenario's direct one)")
	if setup != nil {
		setup(f)
	}
	// Flags may stand anywhere: kget rs -l app=web {.items[0].metadata.name}
	var positional []string
	for {
		if err := f.fs.Parse(args); err != nil {
			ts.Fatalf("%s: %v", name, err)
		}
		rest := f.fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			positional = append(positional, rest...) // everything after -- is positional
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	return f, positional
}

func (f *commonFlags) namespace(cl *clients) string {
	if f.ns != "" {
		return f.ns
	}
	return cl.ns
}

func cmdKapply(ts *testscript.TestScript, neg bool, args []string) {
	f, args := parseFlags(ts, "kapply", args, nil)
	if len(args) == 0 {
		ts.Fatalf("usage: kapply [-kubeconfig PATH] FILE...")
	}
	cl := scenarioClients(ts, f)
	ns := ts.Getenv("NAMESPACE")
	if ns == "" {
		ns = cl.ns
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	var failures []string
	for _, file := range args {
		data, err := os.ReadFile(ts.MkAbs(file))
		ts.Check(err)
		data = bytes.ReplaceAll(data, []byte("${NAMESPACE}"), []byte(ns))
		data = bytes.ReplaceAll(data, []byte("$NAMESPACE"), []byte(ns))
		objs, err := decodeManifests(data)
		if err != nil {
			ts.Fatalf("kapply %s: %v", file, err)
		}
		for _, u := range objs {
			desc, err := applyObject(ctx, cl, u, ns)
			if err != nil {
				failures = append(failures, fmt.Sprintf("%s: %v", desc, err))
				continue
			}
			fmt.Fprintf(ts.Stdout(), "%s serverside-applied\n", desc)
		}
	}
	switch {
	case len(failures) > 0 && !neg:
		ts.Fatalf("kapply:\n%s", strings.Join(failures, "\n"))
	case len(failures) == 0 && neg:
		ts.Fatalf("kapply succeeded unexpectedly")
	case neg:
		fmt.Fprintf(ts.Stderr(), "%s\n", strings.Join(failures, "\n"))
	}
}

// decodeManifests splits multi-document YAML or JSON into objects,
// flattening v1 Lists.
func decodeManifests(data []byte) ([]*unstructured.Unstructured, error) {
	dec := yamlutil.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			err := u.EachListItem(func(o runtime.Object) error {
				out = append(out, o.(*unstructured.Unstructured))
				return nil
			})
			if err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, u)
	}
}

func applyObject(ctx context.Context, cl *clients, u *unstructured.Unstructured, ns string) (string, error) {
	gvk := u.GroupVersionKind()
	desc := strings.ToLower(gvk.Kind) + "/" + u.GetName()
	if gvk.Kind == "" || u.GetName() == "" {
		return desc, errors.New("object without kind or name")
	}
	m, err := cl.mappingForGVK(gvk)
	if err != nil {
		return desc, err
	}
	desc = m.Resource.GroupResource().String() + "/" + u.GetName()
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(ns)
		}
		ns = u.GetNamespace()
	} else {
		ns = ""
	}
	data, err := u.MarshalJSON()
	if err != nil {
		return desc, err
	}
	_, err = cl.resource(m, ns).Patch(ctx, u.GetName(), types.ApplyPatchType, data,
		metav1.PatchOptions{FieldManager: FieldManager, Force: ptr.To(true)})
	return desc, err
}

// evalJSONPath evaluates a kubectl-style JSONPath; missing keys give "".
func evalJSONPath(expr string, obj any) (string, error) {
	jp, err := compileJSONPath(expr)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := jp.Execute(&buf, obj); err != nil {
		return "", fmt.Errorf("JSONPath %q: %v", expr, err)
	}
	return buf.String(), nil
}

func compileJSONPath(expr string) (*jsonpath.JSONPath, error) {
	if !strings.HasPrefix(strings.TrimSpace(expr), "{") {
		expr = "{" + expr + "}"
	}
	jp := jsonpath.New("path").AllowMissingKeys(true)
	if err := jp.Parse(expr); err != nil {
		return nil, fmt.Errorf("bad JSONPath %q: %v", expr, err)
	}
	return jp, nil
}

// target is what kget and kwait look at: one named object or the List of
// the objects matching a label selector.
type target struct {
	m        *meta.RESTMapping
	ri       dynamic.ResourceInterface
	ns       string
	name     string
	selector string
}

func (t *target) String() string {
	if t.selector != "" {
		return fmt.Sprintf("%s -l %s", t.m.Resource.Resource, t.selector)
	}
	return t.m.Resource.Resource + "/" + t.name
}

func parseTarget(ts *testscript.TestScript, cl *clients, f *commonFlags, args []string) (*target, []string) {
	if len(args) == 0 {
		ts.Fatalf("missing KIND")
	}
	m, err := cl.mapping(args[0])
	ts.Check(err)
	t := &target{m: m, ns: f.namespace(cl), selector: f.selector}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		t.ns = ""
	}
	t.ri = cl.resource(m, t.ns)
	args = args[1:]
	if t.selector == "" {
		if len(args) == 0 {
			ts.Fatalf("missing NAME (or -l SELECTOR)")
		}
		t.name, args = args[0], args[1:]
	}
	return t, args
}

// view is the thing a JSONPath is evaluated against: the object, or a List
// of the matching objects sorted by name; nil when nothing matches.
func (t *target) view(objs []*unstructured.Unstructured) any {
	if t.selector == "" {
		if len(objs) == 0 {
			return nil
		}
		return objs[0].Object
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].GetName() < objs[j].GetName() })
	items := make([]any, 0, len(objs))
	for _, o := range objs {
		items = append(items, o.Object)
	}
	return map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
}

func (t *target) get(ctx context.Context) ([]*unstructured.Unstructured, error) {
	if t.selector == "" {
		o, err := t.ri.Get(ctx, t.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []*unstructured.Unstructured{o}, nil
	}
	list, err := t.ri.List(ctx, metav1.ListOptions{LabelSelector: t.selector})
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

func (t *target) listWatch() *cache.ListWatch {
	mod := func(o *metav1.ListOptions) {
		if t.selector != "" {
			o.LabelSelector = t.selector
		} else {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", t.name).String()
		}
	}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			mod(&o)
			return t.ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			mod(&o)
			return t.ri.Watch(ctx, o)
		},
	}
}

func cmdKget(ts *testscript.TestScript, neg bool, args []string) {
	f, args := parseFlags(ts, "kget", args, func(f *commonFlags) {
		f.fs.StringVar(&f.selector, "l", "", "label selector")
		f.fs.StringVar(&f.env, "env", "", "store the JSONPATH value in this environment variable")
	})
	cl := scenarioClients(ts, f)
	t, args := parseTarget(ts, cl, f, args)
	if len(args) > 2 {
		ts.Fatalf("usage: kget [-n NS] KIND NAME|-l SELECTOR [JSONPATH [EXPECTED]]")
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	objs, err := t.get(ctx)
	ts.Check(err)
	if len(args) == 0 {
		switch {
		case len(objs) == 0 && !neg:
			ts.Fatalf("%s: not found", t)
		case len(objs) > 0 && neg:
			ts.Fatalf("%s: exists", t)
		}
		return
	}
	if t.selector == "" && len(objs) == 0 {
		ts.Fatalf("%s: not found", t)
	}
	got, err := evalJSONPath(args[0], t.view(objs))
	ts.Check(err)
	if len(args) == 1 {
		if neg {
			ts.Fatalf("unsupported: ! kget without EXPECTED")
		}
		if f.env != "" {
			ts.Setenv(f.env, got)
		}
		fmt.Fprintln(ts.Stdout(), got)
		return
	}
	want := args[1]
	switch {
	case got != want && !neg:
		ts.Fatalf("%s %s: got %q, want %q", t, args[0], got, want)
	case got == want && neg:
		ts.Fatalf("%s %s: got %q, want anything else", t, args[0], got)
	}
}

// waitCondition is a kwait condition: JSONPATH=VALUE, exists or deleted.
type waitCondition struct {
	path, value string
	exists      bool
	deleted     bool
}

func parseWaitCondition(s string) (waitCondition, error) {
	switch s {
	case "exists":
		return waitCondition{exists: true}, nil
	case "deleted":
		return waitCondition{deleted: true}, nil
	}
	// The = that separates the value comes after the path's closing brace,
	// so filters such as [?(@.type=="Ready")] stay intact.
	from := 0
	if strings.HasPrefix(s, "{") {
		if i := strings.LastIndex(s, "}"); i >= 0 {
			from = i
		}
	}
	i := strings.Index(s[from:], "=")
	if i < 0 {
		return waitCondition{}, fmt.Errorf("condition %q: want JSONPATH=VALUE, exists or deleted", s)
	}
	return waitCondition{path: s[:from+i], value: s[from+i+1:]}, nil
}

func cmdKwait(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! kwait")
	}
	f, args := parseFlags(ts, "kwait", args, func(f *commonFlags) {
		f.fs.StringVar(&f.selector, "l", "", "label selector")
	})
	cl := scenarioClients(ts, f)
	t, args := parseTarget(ts, cl, f, args)
	const usage = "usage: kwait [-n NS] KIND NAME|-l SELECTOR CONDITION... [TIMEOUT]; CONDITION is JSONPATH=VALUE, exists or deleted"
	timeout := DefaultTimeout
	if n := len(args); n > 1 && !strings.Contains(args[n-1], "=") {
		if d, err := time.ParseDuration(args[n-1]); err == nil {
			timeout, args = d, args[:n-1]
		}
	}
	if len(args) == 0 {
		ts.Fatalf(usage)
	}
	var conds []waitCondition
	for _, a := range args {
		c, err := parseWaitCondition(a)
		if err == nil && c.path != "" {
			_, err = compileJSONPath(c.path)
		}
		if err != nil {
			ts.Fatalf("%v\n%s", err, usage)
		}
		conds = append(conds, c)
	}
	what := strings.Join(args, " ")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	last := "<nothing observed>"
	check := func(list []runtime.Object) (bool, error) {
		var objs []*unstructured.Unstructured
		for _, o := range list {
			objs = append(objs, o.(*unstructured.Unstructured))
		}
		v := t.view(objs)
		ok := true
		var seen []string
		for _, cond := range conds {
			switch {
			case cond.deleted:
				ok = ok && len(objs) == 0
				seen = append(seen, fmt.Sprintf("%d object(s)", len(objs)))
			case cond.exists:
				ok = ok && len(objs) > 0
				seen = append(seen, fmt.Sprintf("%d object(s)", len(objs)))
			case v == nil:
				ok = false
				seen = append(seen, cond.path+"=<not found>")
			default:
				got, err := evalJSONPath(cond.path, v)
				if err != nil {
					// A filter over a field the object does not have yet
					// (a CRD's conditions before its controller wrote
					// them) is "not yet", as in kubectl wait; the path's
					// syntax was checked before the wait began.
					ok = false
					seen = append(seen, err.Error())
					continue
				}
				ok = ok && got == cond.value
				seen = append(seen, cond.path+"="+strconv.Quote(got))
			}
		}
		last = strings.Join(seen, " ")
		return ok, nil
	}
	start := time.Now()
	err := until(ctx, t.listWatch(), check)
	if err != nil {
		if ctx.Err() != nil {
			ts.Fatalf("kwait %s %s: timed out after %s; last seen: %s", t, what, timeout, last)
		}
		ts.Fatalf("kwait %s %s: %v (last seen: %s)", t, what, err, last)
	}
	ts.Logf("kwait %s %s: ok after %s", t, what, time.Since(start).Round(time.Millisecond))
}

func cmdRolloutStatus(ts *testscript.TestScript, neg bool, args []string) {
	f, args := parseFlags(ts, "krollout-status", args, nil)
	cl := scenarioClients(ts, f)
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: krollout-status [-n NS] DEPLOYMENT [TIMEOUT]")
	}
	timeout := DefaultTimeout
	if len(args) == 2 {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		timeout = d
	}
	m, err := cl.mapping("deployments.apps")
	ts.Check(err)
	viewer, err := polymorphichelpers.StatusViewerFor(m.GroupVersionKind.GroupKind())
	ts.Check(err)
	t := &target{m: m, ns: f.namespace(cl), name: args[0]}
	t.ri = cl.resource(m, t.ns)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	last := "<not found>"
	check := func(objs []runtime.Object) (bool, error) {
		for _, o := range objs {
			msg, done, err := viewer.Status(o.(*unstructured.Unstructured), 0)
			if err != nil {
				last = err.Error()
				return false, err
			}
			last = strings.TrimSpace(msg)
			return done, nil
		}
		return false, nil
	}
	err = until(ctx, t.listWatch(), check)
	switch {
	case err != nil && !neg:
		ts.Fatalf("krollout-status %s: %v; last status: %s", args[0], err, last)
	case err == nil && neg:
		ts.Fatalf("krollout-status %s: rolled out, unexpectedly: %s", args[0], last)
	case err != nil:
		fmt.Fprintln(ts.Stderr(), last)
		return
	}
	fmt.Fprintln(ts.Stdout(), last)
}

func cmdKpods(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! kpods")
	}
	f, args := parseFlags(ts, "kpods", args, func(f *commonFlags) {
		f.fs.BoolVar(&f.all, "all", false, "count every pod, ready or not, terminating or not")
	})
	cl := scenarioClients(ts, f)
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: kpods [-n NS] [-all] SELECTOR COUNT [TIMEOUT]")
	}
	sel, err := labels.Parse(args[0])
	ts.Check(err)
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	timeout := DefaultTimeout
	if len(args) == 3 {
		timeout, err = time.ParseDuration(args[2])
		ts.Check(err)
	}
	ns := f.namespace(cl)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pods := cl.cs.CoreV1().Pods(ns)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel.String()
			return pods.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel.String()
			return pods.Watch(ctx, o)
		},
	}
	var last string
	check := func(objs []runtime.Object) (bool, error) {
		n := 0
		var desc []string
		for _, o := range objs {
			p := o.(*corev1.Pod)
			ok := f.all || kube.PodReady(p)
			if ok {
				n++
			}
			state := string(p.Status.Phase)
			if kube.PodReady(p) {
				state += ",Ready"
			}
			if p.DeletionTimestamp != nil {
				state += ",Terminating"
			}
			desc = append(desc, p.Name+"("+state+")")
		}
		sort.Strings(desc)
		last = fmt.Sprintf("%d counted of %d: %s", n, len(desc), strings.Join(desc, " "))
		return n == want, nil
	}
	err = until(ctx, lw, check)
	if err != nil {
		ts.Fatalf("kpods %s: want %d, timed out after %s: %s", args[0], want, timeout, last)
	}
}

func cmdKdelete(ts *testscript.TestScript, neg bool, args []string) {
	f, args := parseFlags(ts, "kdelete", args, func(f *commonFlags) {
		f.fs.BoolVar(&f.wait, "wait", false, "wait until the objects are gone")
	})
	cl := scenarioClients(ts, f)
	if len(args) < 2 {
		ts.Fatalf("usage: kdelete [-n NS] [-wait] KIND NAME...")
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	m, err := cl.mapping(args[0])
	ts.Check(err)
	ns := f.namespace(cl)
	ri := cl.resource(m, ns)
	for _, name := range args[1:] {
		err := ri.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
		switch {
		case err != nil && !neg:
			ts.Fatalf("kdelete %s/%s: %v", m.Resource.Resource, name, err)
		case err == nil && neg:
			ts.Fatalf("kdelete %s/%s: succeeded unexpectedly", m.Resource.Resource, name)
		case err != nil:
			fmt.Fprintf(ts.Stderr(), "%v\n", err)
			continue
		}
		fmt.Fprintf(ts.Stdout(), "%s/%s deleted\n", m.Resource.GroupResource(), name)
		if f.wait {
			t := &target{m: m, ri: ri, ns: ns, name: name}
			err := until(ctx, t.listWatch(), func(objs []runtime.Object) (bool, error) { return len(objs) == 0, nil })
			if err != nil {
				ts.Fatalf("kdelete %s/%s: still there: %v", m.Resource.Resource, name, err)
			}
		}
	}
}

func cmdKscale(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! kscale")
	}
	f, args := parseFlags(ts, "kscale", args, nil)
	cl := scenarioClients(ts, f)
	if len(args) != 3 {
		ts.Fatalf("usage: kscale [-n NS] KIND NAME REPLICAS")
	}
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	m, err := cl.mapping(args[0])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
	_, err = cl.resource(m, f.namespace(cl)).Patch(ctx, args[1], types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "scale")
	if err != nil {
		ts.Fatalf("kscale %s/%s: %v", m.Resource.Resource, args[1], err)
	}
	fmt.Fprintf(ts.Stdout(), "%s/%s scaled\n", m.Resource.GroupResource(), args[1])
}

func cmdRolloutUndo(ts *testscript.TestScript, neg bool, args []string) {
	f, args := parseFlags(ts, "krollout-undo", args, func(f *commonFlags) {
		f.fs.Int64Var(&f.toRev, "to-revision", 0, "revision to roll back to (0: the previous one)")
	})
	cl := scenarioClients(ts, f)
	if len(args) != 1 {
		ts.Fatalf("usage: krollout-undo [-n NS] [-to-revision N] DEPLOYMENT")
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	d, err := cl.cs.AppsV1().Deployments(f.namespace(cl)).Get(ctx, args[0], metav1.GetOptions{})
	ts.Check(err)
	rb, err := polymorphichelpers.RollbackerFor(schema.GroupKind{Group: appsv1.GroupName, Kind: "Deployment"}, cl.cs)
	ts.Check(err)
	out, err := rb.Rollback(d, nil, f.toRev, util.DryRunNone)
	switch {
	case err != nil && !neg:
		ts.Fatalf("krollout-undo %s: %v", args[0], err)
	case err == nil && neg:
		ts.Fatalf("krollout-undo %s: succeeded unexpectedly", args[0])
	case err != nil:
		fmt.Fprintf(ts.Stderr(), "%v\n", err)
		return
	}
	fmt.Fprintf(ts.Stdout(), "deployment.apps/%s %s\n", args[0], out)
}
