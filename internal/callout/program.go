package callout

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Local is the command for argv as a pipeline writes it (the exec step, the
// exec analysis provider): dir is relative to base, the pipeline's
// directory; env is added to cutover's own environment (and wins); the
// program is found by Program. Output is kept up to MaxOutput; the caller
// sets the graces and stdin. Errors say what is wrong without naming the
// caller: it prefixes them.
func Local(argv []string, base, dir string, env map[string]string) (Command, error) {
	if len(argv) == 0 || strings.TrimSpace(argv[0]) == "" {
		return Command{}, errors.New("command is empty; give the program and its arguments as a list")
	}
	base = BaseDir(base)
	dir = WorkDir(base, dir)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return Command{}, fmt.Errorf("working directory %q does not exist or is not a directory", dir)
	}
	environ := Environ(os.Environ(), env)
	path, err := Program(argv[0], base, environ)
	if err != nil {
		return Command{}, err
	}
	return Command{Path: path, Name: argv[0], Args: argv[1:], Dir: dir, Env: environ, Limit: MaxOutput}, nil
}

// BaseDir is the directory relative paths of a pipeline resolve against:
// dir, or the current one when the caller has none.
func BaseDir(dir string) string {
	if dir != "" {
		return dir
	}
	if wd, err := os.Getwd(); err == nil {
		return wd
	}
	return "."
}

// WorkDir is a command's working directory dir ("" for base), relative to
// base.
func WorkDir(base, dir string) string {
	if filepath.IsAbs(dir) {
		return filepath.Clean(dir)
	}
	return filepath.Join(BaseDir(base), dir)
}

// Program finds the executable for name the way a shell would, except that
// a relative path is relative to base, the pipeline's directory (not the CI
// job's working directory, nor the command's dir), and PATH is the one in
// environ, the command's own, so env = { PATH = "..." } selects the program
// too.
//
// Relative PATH entries (".", "") are skipped: they would make the program
// depend on where cutover was started, which is the ambiguity resolving
// against the pipeline's directory removes.
func Program(name, base string, environ []string) (string, error) {
	if strings.ContainsRune(name, filepath.Separator) || strings.ContainsRune(name, '/') {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		if _, err := exec.LookPath(p); err != nil {
			var e *exec.Error
			if errors.As(err, &e) {
				err = e.Err
			}
			return "", fmt.Errorf("%s is not an executable file: %w", p, err)
		}
		return p, nil
	}
	pathVar := lookupEnv(environ, "PATH")
	for _, dir := range filepath.SplitList(pathVar) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if _, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("command not found in PATH (%s); install it on the runner or give its path", pathVar)
}

// lookupEnv returns the last value of name in environ, as the child sees
// it.
func lookupEnv(environ []string, name string) string {
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

// Environ adds extra to base; extra wins, and earlier values of its names
// are dropped so the child sees one value per name.
func Environ(base []string, extra map[string]string) []string {
	out := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if _, over := extra[name]; !over {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+extra[k])
	}
	return out
}
