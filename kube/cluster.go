// Package kube is cutover's access to a Kubernetes cluster, resolved the way
// kubectl resolves it: --kubeconfig, KUBECONFIG, ~/.kube/config or the
// in-cluster service account; --context and --namespace override.
package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// Options select the cluster. Zero values mean "as kubectl would".
type Options struct {
	Kubeconfig string
	Context    string
	Namespace  string
	// QPS and Burst default to values sized for a release (a burst of
	// applies, then watches), not client-go's 5/10 which throttles a
	// blue/green switch into seconds.
	QPS   float32
	Burst int
}

// Clients are built once per process and shared by every stage.
type Clients struct {
	Config    *rest.Config
	Typed     kubernetes.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.CachedDiscoveryInterface
	Mapper    meta.ResettableRESTMapper
	// Namespace is the namespace of the selected context (or --namespace),
	// "default" when neither says.
	Namespace string
	// Context is the kubeconfig context in use ("" in-cluster).
	Context string
}

// Cluster builds Clients lazily: commands that never touch the cluster never
// read a kubeconfig.
type Cluster struct {
	opts    Options
	once    sync.Once
	clients *Clients
	err     error
}

// New returns a lazy Cluster for opts.
func New(opts Options) *Cluster { return &Cluster{opts: opts} }

// Of returns a Cluster that hands out c, built already (a fake clientset
// in unit tests): no kubeconfig is read.
func Of(c *Clients) *Cluster {
	cl := &Cluster{clients: c}
	cl.once.Do(func() {})
	return cl
}

// Options returns what the cluster was selected with.
func (c *Cluster) Options() Options { return c.opts }

// Clients returns the shared clients, building them on first use.
func (c *Cluster) Clients() (*Clients, error) {
	c.once.Do(func() { c.clients, c.err = build(c.opts) })
	return c.clients, c.err
}

// ErrNoKubeconfig: no kubeconfig anywhere cutover looks, which is invalid
// input (exit 2), not a cluster that failed.
var ErrNoKubeconfig = errors.New("no kubeconfig is configured (--kubeconfig, $KUBECONFIG, ~/.kube/config, or in-cluster)")

func build(o Options) (*Clients, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	if o.Namespace != "" {
		overrides.Context.Namespace = o.Namespace
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		// Said in words, naming the file: client-go's errors name Go
		// types, or say none is configured when $KUBECONFIG names a file
		// that is not there.
		if perr := configProblem(o.Kubeconfig); perr != nil {
			return nil, perr
		}
	}
	if clientcmd.IsEmptyConfig(err) {
		// client-go's own text sends the user to KUBERNETES_MASTER, which
		// nothing reads any more.
		return nil, ErrNoKubeconfig
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes configuration: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("kubernetes namespace: %w", err)
	}
	cfg.QPS, cfg.Burst = o.QPS, o.Burst
	if cfg.QPS == 0 {
		cfg.QPS = 100
	}
	if cfg.Burst == 0 {
		cfg.Burst = 200
	}
	cfg.UserAgent = "cutover"
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &retryTransport{next: rt, tries: 5, delay: 50 * time.Millisecond}
	})
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc := memory.NewMemCacheClient(typed.Discovery())
	context := o.Context
	if raw, err := cc.RawConfig(); err == nil && context == "" {
		context = raw.CurrentContext
	}
	return &Clients{
		Config:    cfg,
		Typed:     typed,
		Dynamic:   dyn,
		Discovery: disc,
		Mapper:    restmapper.NewDeferredDiscoveryRESTMapper(disc),
		Namespace: ns,
		Context:   context,
	}, nil
}

// Reachable asks the API server what it serves, so a run against a cluster
// it cannot reach or that refuses its credentials stops before anything is
// written, with the server named, instead of after the journal's retries.
// The answer fills the discovery cache the run's deploys resolve kinds
// from, so a pipeline that deploys pays no extra request for the check.
func (c *Clients) Reachable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Discovery.ServerGroups()
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	switch {
	case err == nil:
		return nil
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the Kubernetes API at %s refused the credentials of the kubeconfig: %w", c.Config.Host, err)
	case apierrors.IsForbidden(err):
		return nil // answered: it is there, and the run's own requests say what is allowed
	}
	return fmt.Errorf("cannot reach the Kubernetes API at %s: %w", c.Config.Host, err)
}

// NamespaceMissing is a namespace the cluster says does not exist: bad
// input, found before anything is written, and said as such rather than
// as the first write's "namespaces … not found".
type NamespaceMissing struct {
	Namespace string
	Context   string // the kubeconfig context, "" in-cluster
	Host      string
}

func (e *NamespaceMissing) Error() string {
	where := "the cluster at " + e.Host
	if e.Context != "" {
		where = fmt.Sprintf("context %q (%s)", e.Context, e.Host)
	}
	return fmt.Sprintf("namespace %q does not exist in %s: create it (kubectl create namespace %s) or give another with -n NAMESPACE; nothing was changed",
		e.Namespace, where, e.Namespace)
}

// CheckNamespace returns *NamespaceMissing when the cluster says ns does
// not exist. Credentials that may not read namespaces (a CI account bound
// to its own) are no answer: nil, and the run's own requests say the rest.
func (c *Clients) CheckNamespace(ctx context.Context, ns string) error {
	_, err := c.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		return nil
	}
	e := &NamespaceMissing{Namespace: ns, Context: c.Context}
	if c.Config != nil {
		e.Host = c.Config.Host
	}
	return e
}

// NamespaceOf is the one rule for which namespace is meant (docs/design.md,
// "Cluster access and namespaces"): the first of given that is set, most
// specific first (a step's own attribute, --namespace, the pipeline's),
// else the kubeconfig context's (c, which may be nil), else "default".
// Commands and step kinds both use it, so a run and the commands that find
// it later agree.
func NamespaceOf(c *Clients, given ...string) string {
	for _, ns := range given {
		if ns != "" {
			return ns
		}
	}
	if c != nil && c.Namespace != "" {
		return c.Namespace
	}
	return "default"
}
