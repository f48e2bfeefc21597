package testcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
)

// Component binaries built from the testdata/cluster module.
var binaryNames = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// buildPackages are the packages go build gets, in the testdata/cluster module.
var buildPackages = []string{
	"./cmd/etcd",
	"k8s.io/kubernetes/cmd/kube-apiserver",
	"k8s.io/kubernetes/cmd/kube-controller-manager",
	"k8s.io/kubernetes/cmd/kube-scheduler",
	"sigs.k8s.io/kwok/cmd/kwok",
}

const rootModulePath = "github.com/cutoverhq/cutover"

// RepoRoot finds the root of the cutover checkout: $CUTOVER_REPO_ROOT, or the
// nearest parent of the working directory whose go.mod is the cutover module.
func RepoRoot() (string, error) {
	if d := os.Getenv("CUTOVER_REPO_ROOT"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modfile.ModulePath(data) == rootModulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testcluster: cannot find the cutover repository root above the working directory (set CUTOVER_REPO_ROOT)")
		}
		dir = parent
	}
}

// ModuleDir is testdata/cluster in the checkout.
func ModuleDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "testdata", "cluster"), nil
}

// CacheRoot is $CUTOVER_CLUSTER_CACHE or ~/.cache/cutover/cluster.
func CacheRoot() (string, error) {
	if d := os.Getenv("CUTOVER_CLUSTER_CACHE"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".cache", "cutover", "cluster"), nil
}

// ModFile is the pins file the control plane is built from: go.mod in
// testdata/cluster (the newest Kubernetes), or $CUTOVER_CLUSTER_MODFILE, a
// file beside it (compat.mod: the oldest minor still supported upstream,
// `make test-compat`) given to go build as -modfile. Its go.sum is the
// file of the same name ending in .sum, as the go command has it.
func ModFile(modDir string) (mod, sum string) {
	name := os.Getenv("CUTOVER_CLUSTER_MODFILE")
	if name == "" {
		name = "go.mod"
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(modDir, name)
	}
	return name, strings.TrimSuffix(name, ".mod") + ".sum"
}

// Versions are the pins read from the pins file (ModFile).
type Versions struct {
	Kubernetes string // k8s.io/kubernetes
	Etcd       string // go.etcd.io/etcd/server/v3
	Kwok       string // sigs.k8s.io/kwok
}

func readVersions(modFile string) (Versions, []byte, error) {
	var v Versions
	data, err := os.ReadFile(modFile)
	if err != nil {
		return v, nil, err
	}
	f, err := modfile.ParseLax(modFile, data, nil)
	if err != nil {
		return v, nil, err
	}
	for _, r := range f.Require {
		switch r.Mod.Path {
		case "k8s.io/kubernetes":
			v.Kubernetes = r.Mod.Version
		case "go.etcd.io/etcd/server/v3":
			v.Etcd = r.Mod.Version
		case "sigs.k8s.io/kwok":
			v.Kwok = r.Mod.Version
		}
	}
	if v.Kubernetes == "" || v.Etcd == "" || v.Kwok == "" {
		return v, nil, fmt.Errorf("testcluster: %s does not pin k8s.io/kubernetes, etcd and kwok", modFile)
	}
	return v, data, nil
}

// ldflags stamps the versions the components report (kube-apiserver's
// /version, etcd's --version).
func ldflags(v Versions) string {
	minor := ""
	if parts := strings.SplitN(strings.TrimPrefix(v.Kubernetes, "v"), ".", 3); len(parts) >= 2 {
		minor = parts[1]
	}
	return strings.Join([]string{
		"-s", "-w",
		"-X k8s.io/component-base/version.gitVersion=" + v.Kubernetes,
		"-X k8s.io/component-base/version.gitMajor=1",
		"-X k8s.io/component-base/version.gitMinor=" + minor,
		"-X k8s.io/component-base/version.gitTreeState=clean",
		"-X go.etcd.io/etcd/api/v3/version.GitSHA=" + v.Etcd,
	}, " ")
}

// BinarySet locates one version of the component binaries.
type BinarySet struct {
	Versions Versions
	Key      string // the version string: part of Dir
	Dir      string // holds etcd, kube-apiserver, ... ; may not exist yet
	ModDir   string // testdata/cluster
	ModFile  string // its go.mod, or the file named by $CUTOVER_CLUSTER_MODFILE
	LDFlags  string
}

// Path of one component binary.
func (b *BinarySet) Path(name string) string { return filepath.Join(b.Dir, name) }

// Present reports whether every binary is in Dir.
func (b *BinarySet) Present() bool {
	for _, n := range binaryNames {
		if st, err := os.Stat(b.Path(n)); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// Binaries describes the binaries for the checkout's testdata/cluster module
// and pins file (ModFile).
// $CUTOVER_CLUSTER_BIN, when set, names a directory of prebuilt binaries.
func Binaries() (*BinarySet, error) {
	modDir, err := ModuleDir()
	if err != nil {
		return nil, err
	}
	modFile, sumFile := ModFile(modDir)
	v, gomod, err := readVersions(modFile)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(gomod)
	for _, f := range []string{sumFile, filepath.Join(modDir, "cmd", "etcd", "main.go")} {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		h.Write(data)
	}
	ld := ldflags(v)
	h.Write([]byte(ld))
	h.Write([]byte(strings.Join(buildPackages, " ")))
	key := fmt.Sprintf("k8s-%s_etcd-%s_kwok-%s_%s", v.Kubernetes, v.Etcd, v.Kwok, hex.EncodeToString(h.Sum(nil))[:10])
	b := &BinarySet{Versions: v, Key: key, ModDir: modDir, ModFile: modFile, LDFlags: ld}
	if d := os.Getenv("CUTOVER_CLUSTER_BIN"); d != "" {
		b.Dir = d
		return b, nil
	}
	root, err := CacheRoot()
	if err != nil {
		return nil, err
	}
	b.Dir = filepath.Join(root, key, "bin")
	return b, nil
}

// EnsureBinaries returns the binary set, building whatever is missing with
// the go command (log receives the build's progress lines; may be nil).
// Concurrent callers, also in other processes, are serialized by a file lock.
func EnsureBinaries(ctx context.Context, log func(format string, args ...any)) (*BinarySet, error) {
	b, err := Binaries()
	if err != nil {
		return nil, err
	}
	if b.Present() {
		return b, nil
	}
	if os.Getenv("CUTOVER_CLUSTER_BIN") != "" {
		return nil, fmt.Errorf("testcluster: CUTOVER_CLUSTER_BIN=%s lacks some of %v", b.Dir, binaryNames)
	}
	if log == nil {
		log = func(string, ...any) {}
	}
	verDir := filepath.Dir(b.Dir)
	if err := os.MkdirAll(verDir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, filepath.Join(verDir, "build.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if b.Present() { // another process built them while we waited
		return b, nil
	}
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(verDir, "build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	gobin, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go") //nolint:staticcheck // fallback only
	}
	args := append([]string{"build", "-modfile", b.ModFile, "-trimpath", "-ldflags", b.LDFlags, "-o", tmp + string(filepath.Separator)}, buildPackages...)
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Dir = b.ModDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	log("testcluster: building %s into %s (a cold build takes ~10 minutes)", strings.Join(binaryNames, ", "), b.Dir)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("testcluster: go build in %s: %v\n%s", b.ModDir, err, out.String())
	}
	for _, n := range binaryNames {
		if err := os.Rename(filepath.Join(tmp, n), b.Path(n)); err != nil {
			return nil, err
		}
	}
	log("testcluster: built in %s", time.Since(start).Round(time.Second))
	return b, nil
}
