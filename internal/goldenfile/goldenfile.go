// Package goldenfile compares what a test produced with a file under its
// package's testdata, or rewrites the file when the test runs with -update
// (each test package declares that flag itself).
package goldenfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Check compares got with testdata/name of package pkg (named in the
// messages, as `go test ./pkg -update` rewrites it), or writes it.
func Check(t testing.TB, pkg, name string, got []byte, update bool) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./%s -update to create it)", err, pkg)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./%s -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", name, pkg, got, want)
	}
}
