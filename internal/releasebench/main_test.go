package releasebench

import (
	"os"
	"testing"

	kubectlcmd "k8s.io/kubectl/pkg/cmd"

	"github.com/cutoverhq/cutover/internal/testcluster"
)

// kubectlEnv, set in the environment of this test binary, makes it kubectl:
// the benchmarks that time kubectl run it as a process of its own per
// command (start-up, flag parsing and a fresh client each time, as a CI
// job's kubectl commands do) without a kubectl binary on the machine.
const kubectlEnv = "RELEASEBENCH_AS_KUBECTL"

// TestMain stops the shared control plane once the benchmarks are done (it
// is started lazily, so a run of BenchmarkRunRSS100 alone starts none) and
// removes the cutover binary built for them.
func TestMain(m *testing.M) {
	if os.Getenv(kubectlEnv) == "1" {
		cmd := kubectlcmd.NewDefaultKubectlCommand()
		cmd.SetArgs(os.Args[1:])
		if err := cmd.Execute(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	testcluster.StopShared(code != 0)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
