package analysis

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// provider takes measurements for one analysis.
type provider interface {
	// measure returns the result bound to `result`, a short form of it for
	// the measurement's value, or an error (an Error measurement).
	measure(ctx context.Context) (result cty.Value, value string, err error)
	// fallback judges a result when no condition is written; nil when the
	// provider has no natural verdict.
	fallback() func(cty.Value) Phase
	// describe names what is measured, without credentials.
	describe() string
}

func newProvider(kind string, block cty.Value, env *steps.Env) (provider, error) {
	switch kind {
	case "http":
		return newHTTP(block)
	case "prometheus":
		return newPrometheus(block)
	case "kubernetes":
		return newKubernetes(block, env)
	case "exec":
		return newExec(block, env)
	case "probe":
		return newProbe(block)
	}
	return nil, fmt.Errorf("no provider block; use one of %v", providerNames)
}

func checkProvider(kind string, block cty.Value, path []string) []steps.Problem {
	if !block.IsKnown() {
		return nil
	}
	out := steps.CheckDurations(block, path, "timeout")
	switch kind {
	case "http":
		out = append(out, checkHTTP(block, path)...)
	case "prometheus":
		out = append(out, checkPrometheus(block, path)...)
	case "kubernetes":
		out = append(out, checkKubernetes(block, path)...)
	case "exec":
		out = append(out, checkExec(block, path)...)
	case "probe":
		out = append(out, checkProbe(block, path)...)
	}
	return out
}

func problem(path []string, name, summary, detail string) steps.Problem {
	return steps.Problem{Path: append(append([]string{}, path...), name), Summary: summary, Detail: detail}
}

// maxBody caps what a measurement keeps of a response body or a command's
// output: enough for any health document, small enough that a gate taking
// hundreds of measurements stays small.
const maxBody = 1 << 20

// readCapped reads at most maxBody bytes of r and reports whether there was
// more.
func readCapped(r io.Reader) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if len(b) > maxBody {
		return b[:maxBody], true, err
	}
	return b, false, err
}

// capWriter keeps the first maxBody bytes written to it.
type capWriter struct {
	buf       bytes.Buffer
	truncated bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := maxBody - w.buf.Len(); room < len(p) {
		w.truncated = true
		w.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return w.buf.Write(p)
}

// text returns b as a string with invalid UTF-8 replaced: cty strings must
// be valid.
func text(b []byte) string { return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))) }
