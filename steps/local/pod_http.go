package local

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
	"github.com/cutoverhq/cutover/steps/workloads"
)

func init() { steps.Register(podHTTPKind{}) }

// podHTTPKind sends one request to each running pod of a workload (or of a
// label selector), each by its own address, through the API server's pod
// proxy: what "mark every instance DOWN" needs, where one request through
// a Service reaches one pod. See docs/design.md, "Requests to each pod".
type podHTTPKind struct{}

func (podHTTPKind) Name() string { return "pod_http" }

// podHTTPConfig is the pod_http block.
type podHTTPConfig struct {
	// The pods: those of the workload kind/name, or of selector.
	Kind      string `hcl:"kind"`
	Name      string `hcl:"name"`
	Selector  string `hcl:"selector"`
	Namespace string `hcl:"namespace"`
	// Where on each pod: scheme://POD_IP:port/path.
	Scheme string `hcl:"scheme"`
	Port   *int   `hcl:"port"`
	Path   string `hcl:"path,required"`
	request
}

func newPodHTTPConfig() podHTTPConfig {
	return podHTTPConfig{Kind: "Deployment", Scheme: "http", request: newRequest()}
}

var podHTTPSpec = steps.SpecFor[podHTTPConfig]()

func (podHTTPKind) Spec() hcldec.Spec { return podHTTPSpec }

// maxPodRequests bounds the requests in flight at once.
const maxPodRequests = 8

var podResponse = cty.Object(map[string]cty.Type{"status": cty.Number, "body": cty.String})

var podHTTPOutput = cty.Object(map[string]cty.Type{
	"pods":      cty.List(cty.String),
	"skipped":   cty.List(cty.String),
	"responses": cty.Map(podResponse),
})

func (podHTTPKind) Output() cty.Type { return podHTTPOutput }

func (podHTTPKind) Doc() string {
	return "Sends one HTTP request to each running pod of a workload (`kind`, `name`) or of a label `selector`, " +
		"each by its own address, through the Kubernetes API server's pod proxy " +
		"(`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`): an instance marked DOWN in its registry " +
		"(`/actuator/service-registry`, `/actuator/pause`), a cache flushed on every replica. " +
		"Pods not running, or being deleted, are skipped and listed. Any pod answering another status than " +
		"`expect_status` (any 2xx by default) fails the step after every pod was asked; a stage `retry` sends " +
		"to every pod again, so the call should be idempotent. No built-in undo: give the inverse call in an " +
		"`undo` block. The pipeline's credentials need `get` on `pods/proxy` for GET and HEAD, `create` for POST, " +
		"`update` for PUT, `patch` for PATCH, `delete` for DELETE (`cutover rbac` lists them), and the API server " +
		"must reach the pods' port (as it does for webhooks). Output: `pods` (names asked, sorted), `skipped`, " +
		"`responses[POD]` (`status`, `body`)."
}

func (podHTTPKind) AttrDocs() map[string]string {
	return map[string]string{
		"kind":          `Kind of the workload whose pods are asked (default "Deployment"; any kind with spec.selector: StatefulSet, ReplicaSet, DaemonSet, Service).`,
		"name":          "Name of the workload; or give `selector`.",
		"selector":      `Label selector of the pods, such as "app=demo,version=v1"; or give ` + "`name`.",
		"namespace":     "Namespace of the pods; default the run's.",
		"scheme":        `"http" (default) or "https" (the pod's certificate is not verified by the API server).`,
		"port":          "Port on each pod; default the pod's first declared container port.",
		"path":          `Path and query sent to each pod, starting with "/", such as "/actuator/service-registry?status=DOWN".`,
		"method":        "HTTP method (default GET).",
		"headers":       "Request headers; their values are kept out of the output.",
		"body":          "Request body.",
		"expect_status": "Status or list of statuses every pod must answer (default any 2xx).",
		"timeout":       `Time for each pod's answer (default "30s").`,
	}
}

func (podHTTPKind) Check(cfg cty.Value) []steps.Problem {
	c := newPodHTTPConfig()
	u, err := steps.Decode(cfg, &c)
	out := steps.ProblemsOf(err)
	if !cfg.IsKnown() || cfg.IsNull() {
		return out
	}
	named, selected := cfg.GetAttr("name"), cfg.GetAttr("selector")
	switch {
	case named.IsKnown() && selected.IsKnown() && named.IsNull() == selected.IsNull():
		out = append(out, steps.Problem{Path: []string{"name"}, Summary: "Which pods?",
			Detail: "pod_http needs either name (a workload, with kind) or selector (a label selector), not both and not neither."})
	case !u.Has("selector") && !selected.IsNull():
		if detail := checkSelector(c.Selector); detail != "" {
			out = append(out, steps.Problem{Path: []string{"selector"}, Summary: "Invalid selector", Detail: detail})
		}
	}
	if !u.Has("path") && !strings.HasPrefix(c.Path, "/") {
		out = append(out, steps.Problem{Path: []string{"path"}, Summary: "Invalid path",
			Detail: fmt.Sprintf("path is sent to each pod and must start with \"/\", such as \"/actuator/health\"; got %q.", callout.Redact(c.Path))})
	} else if _, err := url.Parse(c.Path); !u.Has("path") && err != nil {
		out = append(out, steps.Problem{Path: []string{"path"}, Summary: "Invalid path", Detail: "path is not a URL path: " + callout.ErrorText(err, c.Path)})
	}
	if !u.Has("scheme") && c.Scheme != "http" && c.Scheme != "https" {
		out = append(out, steps.Problem{Path: []string{"scheme"}, Summary: "Invalid scheme", Detail: fmt.Sprintf(`scheme is "http" or "https"; got %q.`, c.Scheme)})
	}
	if !u.Has("port") && c.Port != nil && (*c.Port < 1 || *c.Port > 65535) {
		out = append(out, steps.Problem{Path: []string{"port"}, Summary: "Invalid port", Detail: fmt.Sprintf("port is from 1 to 65535; got %d.", *c.Port)})
	}
	return append(out, c.check(u)...)
}

func checkSelector(s string) string {
	sel, err := labels.Parse(s)
	if err != nil {
		return fmt.Sprintf("%q is not a label selector such as \"app=demo,version=v1\": %v", s, err)
	}
	if sel.Empty() {
		return "an empty selector would pick every pod of the namespace; name the labels, such as \"app=demo\"."
	}
	return ""
}

// target says which pods and how messages name them.
func (c podHTTPConfig) target() string {
	if c.Name != "" {
		return strings.ToLower(c.Kind) + "/" + c.Name
	}
	return "pods " + c.Selector
}

// pods lists the pods of the workload or selector.
func (c podHTTPConfig) pods(ctx context.Context, cl *kube.Clients, ns string) ([]corev1.Pod, error) {
	if c.Name == "" {
		list, err := cl.Typed.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: c.Selector})
		if err != nil {
			return nil, steps.Retryable(fmt.Errorf("pod_http: listing %s: %w", c.target(), err))
		}
		return list.Items, nil
	}
	m, err := kube.ResolveKind(cl.Mapper, c.Kind)
	if err != nil {
		return nil, fmt.Errorf("pod_http: %w", err)
	}
	ref := kube.RefFor(m, ns, c.Name)
	obj, err := cl.Get(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("pod_http: reading %s: %w", ref, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("pod_http: %s does not exist", ref)
	}
	pods, err := cl.PodsOf(ctx, obj)
	if err != nil {
		return nil, steps.Retryable(fmt.Errorf("pod_http: the pods of %s: %w", ref, err))
	}
	if pods == nil {
		return nil, fmt.Errorf("pod_http: %s has no pod selector", ref)
	}
	return pods, nil
}

// running splits pods into those to ask (running, with an address, not
// being deleted) and the others, both sorted by name.
func running(pods []corev1.Pod) (ask []corev1.Pod, skipped []string) {
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && p.DeletionTimestamp == nil {
			ask = append(ask, p)
		} else {
			skipped = append(skipped, p.Name)
		}
	}
	return ask, skipped
}

// proxyRef is the pod in the proxy's path: [scheme:]name[:port].
func (c podHTTPConfig) proxyRef(pod string) string {
	port := ""
	if c.Port != nil {
		port = strconv.Itoa(*c.Port)
	}
	if c.Scheme == "https" {
		return "https:" + pod + ":" + port
	}
	if port != "" {
		return pod + ":" + port
	}
	return pod
}

// Plan names the pods that would be asked.
func (podHTTPKind) Plan(ctx context.Context, env *steps.Env, cfg cty.Value) (string, error) {
	c := newPodHTTPConfig()
	if _, err := steps.Decode(cfg, &c); err != nil {
		return "", err
	}
	cl, err := env.Clients("pod_http")
	if err != nil {
		return "", err
	}
	ns := env.NamespaceFor(c.Namespace, cl)
	// The pods of a workload an earlier stage writes, or may create, are
	// those it leaves: known after it.
	if after := c.podsAfter(ctx, cl, env, ns); len(after) > 0 {
		return fmt.Sprintf("would send %s %s to the running pods of %s (known after %s)", c.Method, callout.Redact(c.Path), c.target(), strings.Join(after, ", ")), nil
	}
	pods, err := c.pods(ctx, cl, ns)
	if err != nil {
		return "", err
	}
	ask, skipped := running(pods)
	return fmt.Sprintf("would send %s %s to %s", c.Method, callout.Redact(c.Path), describePods(c.target(), ask, skipped)), nil
}

// podsAfter names the earlier stages after which the pods of the workload
// c names are known, in a plan: the one that writes it, or those that may
// create it when it does not exist. nil for a selector (any pod may match)
// or a workload no earlier stage writes.
func (c podHTTPConfig) podsAfter(ctx context.Context, cl *kube.Clients, env *steps.Env, ns string) []string {
	if c.Name == "" || len(env.Planned.Writers()) == 0 {
		return nil
	}
	m, err := kube.ResolveKind(cl.Mapper, c.Kind)
	if err != nil {
		return nil
	}
	ref := kube.RefFor(m, ns, c.Name)
	if _, ok := env.Planned.Object(ref); ok {
		return env.Planned.KnownAfter(ref)
	}
	if live, err := cl.Get(ctx, ref); err == nil && live == nil {
		return env.Planned.KnownAfter(ref)
	}
	return nil
}

func describePods(target string, ask []corev1.Pod, skipped []string) string {
	names := make([]string, len(ask))
	for i, p := range ask {
		names[i] = p.Name
	}
	s := fmt.Sprintf("%d running pods of %s", len(ask), target)
	if len(names) > 0 {
		s += " (" + strings.Join(names, ", ") + ")"
	}
	if len(skipped) > 0 {
		s += fmt.Sprintf("; %d not running, skipped (%s)", len(skipped), strings.Join(skipped, ", "))
	}
	return s
}

func (podHTTPKind) Run(ctx context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	c := newPodHTTPConfig()
	if _, err := steps.Decode(cfg, &c); err != nil {
		return cty.NilVal, fmt.Errorf("pod_http: %w", err)
	}
	expect, err := expectedStatuses(c.ExpectStatus)
	if err != nil {
		return cty.NilVal, fmt.Errorf("pod_http: %w", err)
	}
	cl, err := env.Clients("pod_http")
	if err != nil {
		return cty.NilVal, err
	}
	ns := env.NamespaceFor(c.Namespace, cl)
	pods, err := c.pods(ctx, cl, ns)
	if err != nil {
		return cty.NilVal, err
	}
	ask, skipped := running(pods)
	shownPath := callout.Redact(c.Path)
	what := describePods(c.target(), ask, skipped)
	if env.DryRun && !safeMethod(c.Method) {
		env.Report(fmt.Sprintf("dry run: not sending %s %s to %s", c.Method, shownPath, what))
		return podOutput(nil, skipped, nil), nil
	}
	env.Report(fmt.Sprintf("%s %s to %s", c.Method, shownPath, what))
	client, base, err := podProxyClient(cl, c)
	if err != nil {
		return cty.NilVal, fmt.Errorf("pod_http: %w", err)
	}

	responses := make([]cty.Value, len(ask))
	errs := make([]error, len(ask))
	slots := make(chan struct{}, maxPodRequests)
	var wg sync.WaitGroup
	for i, p := range ask {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			ref := c.proxyRef(p.Name)
			raw := base + "/api/v1/namespaces/" + url.PathEscape(ns) + "/pods/" + url.PathEscape(ref) + "/proxy" + c.Path
			shown := "pod/" + ref + shownPath
			responses[i], errs[i] = c.send(ctx, client, raw, shown, expect)
		}()
	}
	wg.Wait()
	out := podOutput(ask, skipped, responses)
	return out, joinPodErrors(errs)
}

// podProxyClient is an HTTP client carrying the cluster's credentials, and
// the API server's base URL. It does without kube's retrying transport: a
// 5xx here is the pod's answer (or the pod unreachable), which the stage's
// retry decides about, not a blip of the API server to replay.
func podProxyClient(cl *kube.Clients, c podHTTPConfig) (*http.Client, string, error) {
	cfg := rest.CopyConfig(cl.Config)
	cfg.WrapTransport = nil
	cfg.Timeout = c.Timeout
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, "", err
	}
	// The credentials are the API server's: never follow a pod's redirect
	// to elsewhere with them.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, "", err
	}
	return client, strings.TrimRight(base.String(), "/"), nil
}

func podOutput(ask []corev1.Pod, skipped []string, responses []cty.Value) cty.Value {
	names := make([]cty.Value, 0, len(ask))
	byPod := map[string]cty.Value{}
	for i, p := range ask {
		names = append(names, cty.StringVal(p.Name))
		if r := responses[i]; r != cty.NilVal && !r.IsNull() {
			byPod[p.Name] = cty.ObjectVal(map[string]cty.Value{"status": r.GetAttr("status"), "body": r.GetAttr("body")})
		}
	}
	list := func(vs []cty.Value) cty.Value {
		if len(vs) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		return cty.ListVal(vs)
	}
	var skip []cty.Value
	for _, s := range skipped {
		skip = append(skip, cty.StringVal(s))
	}
	resp := cty.MapValEmpty(podResponse)
	if len(byPod) > 0 {
		resp = cty.MapVal(byPod)
	}
	return cty.ObjectVal(map[string]cty.Value{"pods": list(names), "skipped": list(skip), "responses": resp})
}

// joinPodErrors is every pod's failure at once; retryable only when each
// is (one pod refusing for good fails the stage without retries).
func joinPodErrors(errs []error) error {
	var failed []error
	retry := true
	for _, e := range errs {
		if e != nil {
			failed = append(failed, e)
			retry = retry && steps.IsRetryable(e)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	err := errors.Join(failed...)
	if len(failed) > 1 {
		err = fmt.Errorf("%d pods failed: %w", len(failed), err)
	}
	if retry {
		return steps.Retryable(err)
	}
	// Not the join itself: errors.As would find the retryable ones in it.
	return errors.New(err.Error())
}

// Permissions: the workload is read (get) and its pods listed; each request
// goes through pods/proxy with the verb the API server derives from the
// method.
func (podHTTPKind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	c := newPodHTTPConfig()
	u, _ := steps.Decode(cfg, &c)
	var out []steps.Permission
	if cfg.IsKnown() && !cfg.IsNull() && !cfg.GetAttr("name").IsNull() {
		kind, assumed := c.Kind, u.Has("kind")
		if assumed {
			kind = "Deployment"
		}
		r, err := workloads.ResourceOf(env, kind)
		if err != nil {
			return nil, fmt.Errorf("pod_http: %w", err)
		}
		out = append(out, steps.Permission{APIGroup: r.Group, Resource: r.Resource, Verbs: []string{"get"},
			Why: "pod_http reads " + c.target() + " for its pod selector", Assumed: assumed || r.Assumed})
	}
	verb, assumed := "create", u.Has("method")
	if !assumed {
		verb = proxyVerb(c.Method)
	}
	return append(out,
		steps.Permission{Resource: "pods", Verbs: []string{"list"}, Why: "pod_http lists the pods it sends to"},
		steps.Permission{Resource: "pods/proxy", Verbs: []string{verb}, Why: "pod_http sends " + c.Method + " to each pod through the API server", Assumed: assumed},
	), nil
}

// proxyVerb is the RBAC verb of a request through a proxy subresource.
func proxyVerb(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	}
	return strings.ToLower(method)
}
