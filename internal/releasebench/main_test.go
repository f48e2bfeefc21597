package releasebench

import (
	"os"
	"testing"

	"github.com/cutoverhq/cutover/internal/testcluster"
)

// TestMain stops the shared control plane once the benchmarks are done (it
// is started lazily, so a run of BenchmarkRunRSS100 alone starts none) and
// removes the cutover binary built for them.
func TestMain(m *testing.M) {
	code := m.Run()
	testcluster.StopShared(code != 0)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
