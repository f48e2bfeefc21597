package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// object is one Kubernetes object of the manifests, with its YAML node so
// findings can point into it.
type object struct {
	file      string
	node      *yaml.Node // the object's mapping
	kind      string
	name      string
	namespace string
	ignore    map[string]bool // rules the object opts out of
	template  *podTemplate    // nil for objects that run no pods
}

// podTemplate is the pods an object runs: spec.template of a controller,
// the spec of a bare Pod.
type podTemplate struct {
	labels     map[string]string
	spec       *yaml.Node
	containers []*yaml.Node
}

// ignoreAnnotation lets one object opt out of rules ("rule-a,rule-b").
const ignoreAnnotation = "lint.cutover.dev/ignore"

func (o *object) id() string { return o.kind + "/" + o.name }

// at builds a finding positioned at n (or at the object's kind: line when n
// is nil, the place to point at when a field is missing).
func (o *object) at(n *yaml.Node, rule, sev, msg, hint string) Finding {
	if n == nil {
		n = keyOf(o.node, "kind")
	}
	if n == nil {
		n = o.node
	}
	return Finding{File: o.file, Line: n.Line, Col: n.Column, Rule: rule, Severity: sev, Object: o.id(), Message: msg, Hint: hint}
}

// where names the object for messages: `Deployment "web" in namespace "shop"`.
func (o *object) where() string {
	if o.namespace == "" {
		return fmt.Sprintf("%s %q", o.kind, o.name)
	}
	return fmt.Sprintf("%s %q in namespace %q", o.kind, o.name, o.namespace)
}

// templatePaths says where each kind keeps its pod template.
var templatePaths = map[string][]string{
	"Pod":                   nil,
	"Deployment":            {"spec", "template"},
	"StatefulSet":           {"spec", "template"},
	"DaemonSet":             {"spec", "template"},
	"ReplicaSet":            {"spec", "template"},
	"ReplicationController": {"spec", "template"},
	"Rollout":               {"spec", "template"}, // Argo Rollouts
	"Job":                   {"spec", "template"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template"},
}

// parse reads the documents of one source. A syntax error becomes a
// finding; the documents before it are still linted.
func parse(file string, src []byte) ([]*object, []Finding) {
	var objs []*object
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return objs, []Finding{parseFinding(file, src, err)}
		}
		objs = append(objs, collect(file, deref(&doc))...)
	}
}

// collect turns a document into objects, unpacking `kind: List`.
func collect(file string, n *yaml.Node) []*object {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	kind := str(path(n, "kind"))
	if kind == "" {
		return nil // not a Kubernetes object (values file, empty document)
	}
	if strings.HasSuffix(kind, "List") && path(n, "items") != nil {
		var out []*object
		for _, it := range items(path(n, "items")) {
			out = append(out, collect(file, it)...)
		}
		return out
	}
	o := &object{
		file:      file,
		node:      n,
		kind:      kind,
		name:      str(path(n, "metadata", "name")),
		namespace: str(path(n, "metadata", "namespace")),
		ignore:    map[string]bool{},
	}
	if o.name == "" {
		o.name = str(path(n, "metadata", "generateName")) + "*"
	}
	for _, r := range strings.Split(str(path(n, "metadata", "annotations", ignoreAnnotation)), ",") {
		if r = strings.TrimSpace(r); r != "" {
			o.ignore[r] = true
		}
	}
	if tp, ok := templatePaths[kind]; ok {
		o.template = templateOf(n, kind, tp)
	}
	return []*object{o}
}

func templateOf(n *yaml.Node, kind string, tp []string) *podTemplate {
	meta, spec := path(n, "metadata"), path(n, "spec")
	if kind != "Pod" {
		t := path(n, tp...)
		if t == nil {
			return nil
		}
		meta, spec = path(t, "metadata"), path(t, "spec")
	}
	return &podTemplate{
		labels:     stringMap(path(meta, "labels")),
		spec:       spec,
		containers: items(path(spec, "containers")),
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parseFinding places a YAML syntax error at the line the parser names.
// The parser reports the line where it noticed the problem (sometimes the
// start of the enclosing flow collection, one line early) and no column:
// the finding's column is where that line's text starts (its first
// character after the indentation; a tab there is the character the
// parser refuses), so an editor lands on it as on any other finding.
func parseFinding(file string, src []byte, err error) Finding {
	msg := err.Error()
	f := Finding{File: file, Rule: "parse", Severity: SevError, Hint: "fix the syntax; documents after this error are not linted"}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		f.Line, _ = strconv.Atoi(m[1])
		f.Col = textColumn(src, f.Line)
		msg = msg[len(m[0]):]
	}
	f.Message = "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")
	return f
}

// textColumn is the 1-based column of the first character of line (1-based)
// of src that is not an indenting space; 1 for a blank line or one past the
// end.
func textColumn(src []byte, line int) int {
	lines := bytes.Split(src, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 1
	}
	text := bytes.TrimRight(lines[line-1], "\r")
	indent := len(text) - len(bytes.TrimLeft(text, " "))
	return 1 + indent
}
