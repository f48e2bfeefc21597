package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// resolveProgram finds the executable for argv[0] the way a shell would,
// except that relative paths are relative to the pipeline directory (not the
// CI job's working directory) and PATH is the one the command will see, so
// env = { PATH = "..." } selects the program too.
//
// Relative PATH entries (".", "") are skipped: they would make the program
// depend on where cutover was started, which is the ambiguity resolving
// against the pipeline directory removes.
func resolveProgram(name, base string, environ []string) (string, error) {
	if strings.ContainsRune(name, filepath.Separator) || strings.ContainsRune(name, '/') {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("exec %s: %s is not an executable file: %w", name, p, unwrapExecErr(err))
		}
		return p, nil
	}
	pathVar := envLookup(environ, "PATH")
	for _, dir := range filepath.SplitList(pathVar) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if _, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %s: command not found in PATH (%s); install it on the runner or give its path", name, pathVar)
}

func unwrapExecErr(err error) error {
	var e *exec.Error
	if errors.As(err, &e) {
		return e.Err
	}
	return err
}

// envLookup returns the last value of name in environ, as the child sees it.
func envLookup(environ []string, name string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	if v == "" && name == "PATH" {
		v = os.Getenv("PATH")
	}
	return v
}
