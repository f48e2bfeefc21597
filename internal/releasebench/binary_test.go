package releasebench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/cutoverhq/cutover/internal/testcluster"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string // removed by cleanupBinary
)

// cutoverBinary builds ./cmd/cutover of this checkout once per test binary:
// the benchmarks measure the program as it ships (its journal, lock and
// reports included), not the engine alone.
//
// CUTOVER_BIN=PATH measures that binary instead, e.g. one built from an
// older commit in a git worktree, so a "before" and an "after" are measured
// by the same benchmark code.
func cutoverBinary() (string, error) {
	binOnce.Do(func() {
		var err error
		binDir, err = os.MkdirTemp("", "releasebench-bin-")
		if err != nil {
			binErr = err
			return
		}
		if p := os.Getenv("CUTOVER_BIN"); p != "" {
			if binPath, binErr = filepath.Abs(p); binErr == nil {
				_, binErr = os.Stat(binPath)
			}
			return
		}
		root, err := testcluster.RepoRoot()
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(binDir, "cutover")
		cmd := exec.Command("go", "build", "-tags=kustomize_disable_go_plugin_support", "-o", binPath, "./cmd/cutover")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/cutover: %v\n%s", err, out)
		}
	})
	return binPath, binErr
}

// pipelineDir is the checkout's pipelines/NAME.
func pipelineDir(name string) (string, error) {
	root, err := testcluster.RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "pipelines", name), nil
}
