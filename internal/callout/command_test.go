package callout

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestCommandResult(t *testing.T) {
	res, err := Command{Path: "sh", Args: []string{"-c", `printf out; printf 'err line\n' >&2; exit 3`}, Limit: 100}.Run(context.Background())
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("err = %v; want the non-zero exit", err)
	}
	if res.ExitCode != 3 || res.Stdout.String() != "out" || res.Stderr.LastLines(1) != "err line" || res.Signal != "" {
		t.Errorf("result = %d %q %q %q", res.ExitCode, res.Stdout, res.Stderr, res.Signal)
	}
}

func TestCommandNameAndCap(t *testing.T) {
	res, err := Command{Path: "/bin/sh", Name: "checker", Args: []string{"-c", `echo "$0"; head -c 5000 /dev/zero`}, Limit: 10}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Stdout.Bytes()); got != "checker\n\x00\x00" || !res.Stdout.Truncated() || res.Stdout.Total() != 5008 {
		t.Errorf("stdout %q, truncated %v, total %d", got, res.Stdout.Truncated(), res.Stdout.Total())
	}
}

func TestCommandCannotStart(t *testing.T) {
	res, err := Command{Path: "/nonexistent/cutover-check"}.Run(context.Background())
	if res != nil || err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("res %v, err %v", res, err)
	}
}
