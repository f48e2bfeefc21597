package testcluster_test

import (
	"testing"

	"github.com/cutoverhq/cutover/internal/testcluster"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testcluster.Main(m, nil)
}

// TestScript runs the scenarios in testdata/script on the shared control
// plane: they prove it behaves like a real cluster.
func TestScript(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local control plane")
	}
	testscript.Run(t, testcluster.Params("testdata/script"))
}
