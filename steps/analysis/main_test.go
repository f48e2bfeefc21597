package analysis

import (
	"os"
	"testing"

	"github.com/cutoverhq/cutover/internal/testcluster"
)

// TestMain stops the shared control plane (started by the kubernetes
// provider's end-to-end tests, if any ran) when the tests are done, keeping
// its logs when a test failed.
func TestMain(m *testing.M) {
	code := m.Run()
	testcluster.StopShared(code != 0)
	os.Exit(code)
}
