package render

import (
	"os"
	"path/filepath"
	"strings"
)

// IsChart reports whether p is a Helm chart: a directory holding a
// Chart.yaml, or a packaged chart (.tgz), as `cutover lint PATH` tells one
// from a directory of manifests.
func IsChart(p string) bool {
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return strings.HasSuffix(p, ".tgz")
	}
	st, err := os.Stat(filepath.Join(p, "Chart.yaml"))
	return err == nil && !st.IsDir()
}

// IsOverlay reports whether the directory p holds a kustomization file
// under one of the names kustomize reads.
func IsOverlay(p string) bool {
	for _, n := range kustomizationNames {
		if st, err := os.Stat(filepath.Join(p, n)); err == nil && !st.IsDir() {
			return true
		}
	}
	return false
}
