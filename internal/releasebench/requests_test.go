package releasebench

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// greenYAML is what pipelines/blue-green-service's deployment.yaml.tpl
// renders for version v2 and two replicas: the kubectl procedure applies
// the same object the pipeline does.
const greenYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-v2
  labels:
    app: demo
    version: v2
spec:
  replicas: 2
  progressDeadlineSeconds: 120
  selector:
    matchLabels:
      app: demo
      version: v2
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: demo
        version: v2
      annotations: {}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
        - name: demo
          image: bebullish/demo:v2
          ports:
            - containerPort: 8080
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
            periodSeconds: 2
          lifecycle:
            preStop:
              exec:
                command: ["sleep", "5"]
`

// BenchmarkBlueGreenRequests counts the API requests of one blue/green
// release (v1 live → v2 live, v1 scaled to zero), done by
// `cutover run pipelines/blue-green-service` and done by hand with the
// kubectl commands of seeds 001/002. Both go through the same counting
// proxy, from the same starting state (set up around the proxy). The time
// per op is the cutover release alone.
func BenchmarkBlueGreenRequests(b *testing.B) {
	x := newBench(b)
	proxy, err := startCountingProxy(x.c)
	must(b, err, "counting proxy")
	defer proxy.Close()

	var cut, kub counts
	b.ResetTimer() // not the build nor the control plane's start
	for i := range b.N {
		b.StopTimer()
		ns, direct := x.namespace("bench-requests-cutover")
		x.initial(direct)
		counted := writeFile(b, "cutover.kubeconfig", "")
		must(b, proxy.writeKubeconfig(counted, ns), "kubeconfig")
		proxy.reset()

		b.StartTimer()
		out := x.run(counted, 0, x.releaseArgs("v2")...)
		b.StopTimer()
		got := proxy.take()
		if !strings.Contains(out, "Result: succeeded") {
			b.Fatalf("cutover release v2 did not succeed:\n%s", out)
		}
		x.checkReleased(ns, "v2", "v1", 0)
		add(&cut, got)
		if i == 0 {
			b.Logf("cutover: %d requests (%d reads, %d writes, %d watches):\n%s",
				got.Total(), got.Reads, got.Writes, got.Watches, got.Routes())
		}

		ns, direct = x.namespace("bench-requests-kubectl")
		x.initial(direct)
		counted = writeFile(b, "kubectl.kubeconfig", "")
		must(b, proxy.writeKubeconfig(counted, ns), "kubeconfig")
		green := writeFile(b, "green.yaml", greenYAML)
		// A fresh discovery cache, as on a fresh CI runner; the commands
		// share it, as consecutive kubectl processes in one job do.
		cache := b.TempDir()
		proxy.reset()
		for _, args := range [][]string{
			{"apply", "-f", green},
			{"rollout", "status", "deploy/demo-v2", "--timeout=5m"},
			{"patch", "service", "demo", "-p", `{"spec":{"selector":{"version":"v2"}}}`},
			{"get", "endpoints", "demo"},
			{"scale", "deploy/demo-v1", "--replicas=0"},
		} {
			kubectl(b, counted, cache, args...)
		}
		got = proxy.take()
		x.checkReleased(ns, "v2", "v1", 0)
		add(&kub, got)
		if i == 0 {
			b.Logf("kubectl: %d requests (%d reads, %d writes, %d watches):\n%s",
				got.Total(), got.Reads, got.Writes, got.Watches, got.Routes())
		}
	}
	b.ReportMetric(perRelease(cut.Total(), b.N), "cutover-req/release")
	b.ReportMetric(perRelease(cut.Reads, b.N), "cutover-reads/release")
	b.ReportMetric(perRelease(cut.Writes, b.N), "cutover-writes/release")
	b.ReportMetric(perRelease(cut.Watches, b.N), "cutover-watches/release")
	b.ReportMetric(perRelease(cut.State, b.N), "cutover-journal+lock-req/release")
	b.ReportMetric(perRelease(kub.Total(), b.N), "kubectl-req/release")
	b.ReportMetric(perRelease(kub.Reads, b.N), "kubectl-reads/release")
	b.ReportMetric(perRelease(kub.Writes, b.N), "kubectl-writes/release")
	b.ReportMetric(perRelease(kub.Watches, b.N), "kubectl-watches/release")
}

func add(sum *counts, c counts) {
	sum.Reads += c.Reads
	sum.Writes += c.Writes
	sum.Watches += c.Watches
	sum.State += c.State
	sum.Journal += c.Journal
	sum.Lock += c.Lock
}

// kubectlFatal carries a kubectl fatal error out of the command: kubectl
// calls os.Exit on errors unless told otherwise.
type kubectlFatal struct {
	msg  string
	code int
}

// kubectl runs one kubectl command in-process, as a separate kubectl process
// would (fresh command, flags and client), with its discovery cache in cache.
func kubectl(b *testing.B, kubeconfig, cache string, args ...string) string {
	b.Helper()
	var out, errOut bytes.Buffer
	cmdutil.BehaviorOnFatal(func(msg string, code int) { panic(kubectlFatal{msg, code}) })
	defer cmdutil.DefaultBehaviorOnFatal()
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				f, ok := r.(kubectlFatal)
				if !ok {
					panic(r)
				}
				err = fmt.Errorf("exit %d: %s", f.code, f.msg)
			}
		}()
		cmd := kubectlcmd.NewKubectlCommand(kubectlcmd.KubectlOptions{
			IOStreams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		})
		cmd.SetArgs(append([]string{"--kubeconfig", kubeconfig, "--cache-dir", cache}, args...))
		return cmd.Execute()
	}()
	if err != nil {
		b.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}
