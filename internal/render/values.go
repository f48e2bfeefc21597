package render

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"sigs.k8s.io/yaml"
)

// ValuesProblem is a values element that is neither a path nor an object;
// Index is its place in the list (-1 for a single value).
type ValuesProblem struct {
	Index int
	Msg   string
}

func (p *ValuesProblem) Error() string {
	if p.Index < 0 {
		return "values: " + p.Msg
	}
	return fmt.Sprintf("values[%d]: %s", p.Index, p.Msg)
}

// values reads the values attribute in order: a string is a file (relative
// to dir), an object is taken as is. Null is none.
func values(dir string, v cty.Value) ([]map[string]any, error) {
	if v == cty.NilVal || v.IsNull() {
		return nil, nil
	}
	v, _ = v.UnmarkDeep()
	t := v.Type()
	if !(t.IsTupleType() || t.IsListType()) {
		m, err := layer(dir, v, -1)
		if err != nil {
			return nil, err
		}
		return []map[string]any{m}, nil
	}
	var out []map[string]any
	for i, it := 0, v.ElementIterator(); it.Next(); i++ {
		_, e := it.Element()
		m, err := layer(dir, e, i)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func layer(dir string, v cty.Value, i int) (map[string]any, error) {
	switch t := v.Type(); {
	case v.IsNull():
		return nil, nil
	case t == cty.String:
		m, err := valuesFile(dir, v.AsString())
		if e, ok := err.(*Error); ok && e.Line == 0 {
			// Not read at all: the values attribute is at fault, not a line.
			return nil, &ValuesProblem{Index: i, Msg: e.Msg}
		}
		return m, err
	case t.IsObjectType() || t.IsMapType():
		b, err := ctyjson.Marshal(v, t)
		if err != nil {
			return nil, &ValuesProblem{Index: i, Msg: err.Error()}
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, &ValuesProblem{Index: i, Msg: err.Error()}
		}
		return m, nil
	default:
		return nil, &ValuesProblem{Index: i, Msg: fmt.Sprintf("a values file (a path) or an object, not %s", t.FriendlyName())}
	}
}

// valuesFile reads a YAML values file; a syntax error is an *Error at its
// line.
func valuesFile(dir, p string) (map[string]any, error) {
	b, err := os.ReadFile(abs(dir, p))
	if err != nil {
		return nil, &Error{File: p, Msg: "cannot read the values file " + p + ": " + missing(dir, p, err)}
	}
	m, err := parseYAMLMap(b)
	if err != nil {
		return nil, yamlError(p, err)
	}
	return m, nil
}

func parseYAMLMap(b []byte) (map[string]any, error) {
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// yamlLine finds the line a YAML parser's message names.
var yamlLine = regexp.MustCompile(`line (\d+)(?::(\d+))?`)

// yamlError is a YAML parse error of file at the line its message names.
func yamlError(file string, err error) *Error {
	e := &Error{File: file, Msg: "not valid YAML: " + err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Col, _ = strconv.Atoi(m[2])
	}
	return e
}

// missing is the message for path p (as given, relative to dir unless
// absolute) that could not be opened: the reason, and for a relative path
// where it was looked for, since it is read from the pipeline directory,
// not the current one.
func missing(dir, p string, err error) string {
	msg := pathError(err)
	if !filepath.IsAbs(p) && dir != "" {
		msg += fmt.Sprintf(" (looked for %s: a relative path is read from the pipeline directory, %s)", abs(dir, p), dir)
	}
	return msg
}

// pathError is the reason of a file error without the path, which the
// message names already.
func pathError(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
