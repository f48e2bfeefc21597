package render

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// An overlay's objects are linted, and named in messages, under the file
// each came from (a base's deployment.yaml, the kustomization whose
// generator made it), not under the build's output. kustomize records that
// origin when a kustomization asks for it (buildMetadata: [originAnnotations]);
// originFS asks for it on the user's behalf, and byOrigin takes the
// annotation off again so that what is applied is what `kustomize build`
// gives (docs/design.md, "Charts and overlays").

// originFS is the disk, except that a kustomization without buildMetadata
// reads with `buildMetadata: [originAnnotations]` appended: after its last
// line, so every line kustomize could name keeps its number.
// The overlay's own kustomization (top) reads as replaced: with the
// block's name_suffix and labels (overlayExtras).
type originFS struct {
	filesys.FileSystem
	top      string
	replaced []byte
}

func (f originFS) ReadFile(p string) ([]byte, error) {
	b, err := f.FileSystem.ReadFile(p)
	if err != nil || !contains(kustomizationNames, filepath.Base(p)) {
		return b, err
	}
	if f.top != "" && filepath.Clean(p) == f.top {
		b = f.replaced
	}
	out := append([]byte(nil), b...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	root := mappingOf(b)
	if root == nil || root.Style&yaml.FlowStyle != 0 || keyOf(root, "buildMetadata") != nil {
		return out, nil // not ours to change; the user's buildMetadata is kept as it is
	}
	return append(out, "buildMetadata: [originAnnotations]\n"...), nil
}

// wantsOrigins says whether the kustomization file asks for origin
// annotations itself: they are then part of what it builds, and kept.
func wantsOrigins(file string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	bm := keyOf(mappingOf(b), "buildMetadata")
	if bm == nil {
		return false
	}
	for _, it := range bm.Content {
		if it.Value == "originAnnotations" {
			return true
		}
	}
	return false
}

// mappingOf is the top mapping of a YAML document, nil when it is not one.
func mappingOf(b []byte) *yaml.Node {
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	return doc.Content[0]
}

// keyOf is the value of key k in mapping n, nil when absent.
func keyOf(n *yaml.Node, k string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k {
			return n.Content[i+1]
		}
	}
	return nil
}

// anchor ties a key or item that starts on a rendered line, at column col,
// to the same key or item in the source file (line, srcCol; 1-based).
type anchor struct{ col, line, srcCol int }

// place is where a position in a rendered line comes from: the anchor at
// that column (the outermost: the container, not its first key, which
// starts where it does), else the nearest to its left; line 0 when the
// line has none.
func place(anchors []anchor, col int) (int, int) {
	if len(anchors) == 0 {
		return 0, 0
	}
	best := anchors[0]
	for _, a := range anchors {
		if a.col == col {
			best = a
			break
		}
		if a.col < col && a.col > best.col {
			best = a
		}
	}
	if col <= 0 {
		return best.line, 0
	}
	return best.line, max(best.srcCol+col-best.col, 1)
}

// byOrigin groups the built objects by the file each came from (relative
// to the pipeline directory, through the overlay's path), in build order,
// with each rendered line mapped to the line of the same key in the
// object's source document. Objects without an origin are named after the
// overlay's build. The origin annotation is taken off when strip is set.
func byOrigin(dir, overlay string, m resmap.ResMap, strip bool) ([]File, error) {
	var order []string
	byName := map[string]*File{}
	for _, r := range m.Resources() {
		o, err := r.GetOrigin()
		if err != nil {
			return nil, err
		}
		if strip {
			if err := r.SetOrigin(nil); err != nil {
				return nil, err
			}
		}
		name, src := rel(overlay)+" (kustomize build)", ""
		if o != nil && o.Repo == "" && (o.Path != "" || o.ConfiguredIn != "") {
			name = rel(overlay, o.Path)
			if o.Path == "" {
				name = rel(overlay, o.ConfiguredIn)
			}
			if b, err := os.ReadFile(abs(dir, name)); err == nil {
				src = string(b)
			}
		}
		text, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		f := byName[name]
		if f == nil {
			f = &File{Name: name}
			byName[name] = f
			order = append(order, name)
		} else {
			f.Text += "---\n"
			f.at = append(f.at, nil)
		}
		if src != "" {
			f.at = append(f.at, mapKeys(string(text), sourceDoc(src, r))...)
		}
		f.Text += string(text)
	}
	out := make([]File, len(order))
	for i, n := range order {
		out[i] = *byName[n]
	}
	return out, nil
}

// sourceDoc is the document of src that r was made from: the one of its
// kind whose name the object's name holds (a prefix or suffix added), the
// longest such; nil when none.
func sourceDoc(src string, r *resource.Resource) *yaml.Node {
	var best *yaml.Node
	bestLen := -1
	dec := yaml.NewDecoder(strings.NewReader(src))
	for {
		var doc yaml.Node
		if dec.Decode(&doc) != nil { // the end, or what the build read already
			return best
		}
		if len(doc.Content) == 0 {
			continue
		}
		n := doc.Content[0]
		if scalarAt(n, "kind") != r.GetKind() {
			continue
		}
		name := scalarAt(n, "metadata", "name")
		if strings.Contains(r.GetName(), name) && len(name) > bestLen {
			best, bestLen = n, len(name)
		}
	}
}

// scalarAt is the scalar at a path of mapping keys, "" when absent.
func scalarAt(n *yaml.Node, keys ...string) string {
	for _, k := range keys {
		n = keyOf(n, k)
	}
	if n == nil {
		return ""
	}
	return n.Value
}

// mapKeys maps each line of text (one object) to the places in src of the
// same key paths (spec.template.spec.containers[0].image), or of their
// nearest ancestor the source has (a label an overlay added: the source's
// labels), or of the source object itself; nothing when there is no source.
func mapKeys(text string, src *yaml.Node) [][]anchor {
	out := make([][]anchor, strings.Count(strings.TrimSuffix(text, "\n"), "\n")+1)
	var doc yaml.Node
	if src == nil || yaml.Unmarshal([]byte(text), &doc) != nil || len(doc.Content) == 0 {
		return out
	}
	have := map[string]*yaml.Node{}
	walkKeys(src, "", func(path string, n *yaml.Node) {
		if have[path] == nil {
			have[path] = n
		}
	})
	walkKeys(doc.Content[0], "", func(path string, n *yaml.Node) {
		i := n.Line - 1
		if i < 0 || i >= len(out) {
			return
		}
		s := have[path]
		for s == nil && path != "" {
			path = parentPath(path)
			s = have[path]
		}
		if s == nil {
			s = src
		}
		out[i] = append(out[i], anchor{n.Column, s.Line, s.Column})
	})
	return out
}

// walkKeys calls fn for each key (path "a.b") and sequence item (path
// "a.b[2]") under n, in document order.
func walkKeys(n *yaml.Node, path string, fn func(string, *yaml.Node)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			fn(p, n.Content[i])
			walkKeys(n.Content[i+1], p, fn)
		}
	case yaml.SequenceNode:
		for i, it := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			fn(p, it)
			walkKeys(it, p, fn)
		}
	}
}

// parentPath is the path of the key or item holding path's.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
