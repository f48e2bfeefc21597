package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizationNames are the file names kustomize reads, in its order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// RenderOverlay builds a kustomization as `kustomize build` does, with the
// default load restrictions (files under each kustomization's root; bases
// and components may be elsewhere on disk). Before the build, every
// kustomization it reaches is read: a remote base or resource (a URL, a git
// repository) is refused at its line, since cutover fetches nothing, and a
// YAML error is placed at its line too. The objects come back grouped by
// the file each came from (origin.go).
func RenderOverlay(dir string, o Overlay) ([]File, error) {
	if err := scanKustomization(dir, o.Path, map[string]bool{}); err != nil {
		return nil, err
	}
	f, _ := kustomizationFile(dir, o.Path)
	if o.Workload != nil {
		o.Workload.namespaceAt = namespaceIn(dir, f)
	}
	fs := originFS{FileSystem: filesys.MakeFsOnDisk()}
	if o.NameSuffix != "" || len(o.Labels) > 0 {
		extra, err := overlayExtras(dir, f, o)
		if err != nil {
			return nil, err
		}
		if fs.top, err = filepath.Abs(abs(dir, f)); err != nil {
			return nil, err
		}
		fs.replaced = extra
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	m, err := krusty.MakeKustomizer(opts).Run(fs, abs(dir, o.Path))
	if err != nil {
		return nil, &Error{File: f, Msg: "kustomize build: " + strings.ReplaceAll(err.Error(), abs(dir, ""), "")}
	}
	files, err := byOrigin(dir, o.Path, m, !wantsOrigins(abs(dir, f)))
	if err != nil {
		return nil, &Error{File: o.Path, Msg: "kustomize build: " + err.Error()}
	}
	return files, nil
}

// namespaceIn is the place of a kustomization's own namespace: line, which
// puts every object it builds there; nil when it sets none.
func namespaceIn(dir, file string) *Error {
	b, err := os.ReadFile(abs(dir, file))
	if err != nil {
		return nil
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "namespace:") {
			return &Error{File: file, Line: i + 1, Col: 1}
		}
	}
	return nil
}

// kustomizationFile is the kustomization file of the directory p.
func kustomizationFile(dir, p string) (string, error) {
	for _, n := range kustomizationNames {
		if st, err := os.Stat(abs(dir, rel(p, n))); err == nil && !st.IsDir() {
			return rel(p, n), nil
		}
	}
	if _, err := os.Stat(abs(dir, p)); err != nil {
		return "", &Error{File: p, Msg: "no overlay here: " + missing(dir, p, err)}
	}
	return "", &Error{File: p, Msg: "no kustomization.yaml in this directory"}
}

// refKeys are the kustomization fields that name other kustomizations or
// resource files.
var refKeys = []string{"resources", "bases", "components"}

// remoteRef matches what kustomize would fetch: a URL or a git repository.
var remoteRef = regexp.MustCompile(`^([a-zA-Z][\w+.-]*://|git@|github\.com/|gitlab\.com/|bitbucket\.org/)|\?ref=|\.git(//|$)`)

// scanKustomization reads the kustomization in p (relative to dir) and,
// through its resources, bases and components, those it reaches.
func scanKustomization(dir, p string, seen map[string]bool) error {
	if seen[abs(dir, p)] {
		return nil
	}
	seen[abs(dir, p)] = true
	file, err := kustomizationFile(dir, p)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(abs(dir, file))
	if err != nil {
		return &Error{File: file, Msg: pathError(err)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return yamlError(file, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return &Error{File: file, Line: 1, Col: 1, Msg: "a kustomization is a YAML mapping (resources, patches, images…)"}
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value == "helmCharts" || k.Value == "helmChartInflationGenerator" {
			return &Error{File: file, Line: k.Line, Col: k.Column, Msg: k.Value + " runs the helm binary, which cutover does not; render the chart with a chart block instead"}
		}
		if !contains(refKeys, k.Value) || v.Kind != yaml.SequenceNode {
			continue
		}
		for _, it := range v.Content {
			ref := it.Value
			if remoteRef.MatchString(ref) {
				return &Error{File: file, Line: it.Line, Col: it.Column, Msg: fmt.Sprintf(
					"%s names %q, which kustomize would fetch; cutover fetches nothing: vendor it into the repository and name its directory", k.Value, ref)}
			}
			target := rel(filepath.Dir(file), ref)
			st, err := os.Stat(abs(dir, target))
			if err != nil {
				return &Error{File: file, Line: it.Line, Col: it.Column, Msg: fmt.Sprintf("%s names %q: %s", k.Value, ref, pathError(err))}
			}
			if st.IsDir() {
				if _, err := kustomizationFile(dir, target); err != nil {
					return &Error{File: file, Line: it.Line, Col: it.Column, Msg: fmt.Sprintf("%s names %q, a directory without a kustomization.yaml", k.Value, ref)}
				}
				if err := scanKustomization(dir, target, seen); err != nil {
					return err
				}
				continue
			}
			if err := checkYAMLFile(dir, target); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkYAMLFile places a syntax error of a resource file at its line.
func checkYAMLFile(dir, p string) error {
	b, err := os.ReadFile(abs(dir, p))
	if err != nil {
		return &Error{File: p, Msg: pathError(err)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return yamlError(p, err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// overlayExtras is the overlay's kustomization (file) with the block's
// name_suffix and labels added, after its last line so that every line
// keeps its number: nameSuffix, and labels on objects, selectors and pod
// templates; the whole kustomization as it is read. A kustomization that
// sets nameSuffix itself is refused at that key: two would not merge.
func overlayExtras(dir, file string, o Overlay) ([]byte, error) {
	b, err := os.ReadFile(abs(dir, file))
	if err != nil {
		return nil, &Error{File: file, Msg: pathError(err)}
	}
	root := mappingOf(b)
	if root == nil || root.Style&yaml.FlowStyle != 0 {
		return nil, &Error{File: file, Line: 1, Col: 1, Msg: "name_suffix and labels are added to a kustomization written as a block mapping, not a flow one"}
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	var out []byte
	add := func(key, attr string, v any) error {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i]; k.Value == key {
				return &Error{File: file, Line: k.Line, Col: k.Column, Msg: fmt.Sprintf(
					"%s is set here and by the pipeline (kustomize %s); move it to a base this overlay names, or leave it to the pipeline", key, attr)}
			}
		}
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		out = append(out, key+": "+string(j)+"\n"...)
		return nil
	}
	if o.NameSuffix != "" {
		if err := add("nameSuffix", "name_suffix", o.NameSuffix); err != nil {
			return nil, err
		}
	}
	if len(o.Labels) > 0 {
		item := map[string]any{"pairs": o.Labels, "includeSelectors": true}
		if ls := keyOf(root, "labels"); ls != nil && ls.Kind == yaml.SequenceNode {
			// The overlay's own labels: one more item in its list, the
			// document re-encoded (its lines may move; errors and lint
			// findings are placed from the file on disk).
			var n yaml.Node
			if err := n.Encode(item); err != nil {
				return nil, err
			}
			ls.Content = append(ls.Content, &n)
			ls.Style = 0
			doc, err := yaml.Marshal(root)
			if err != nil {
				return nil, err
			}
			return append(doc, out...), nil
		}
		if err := add("labels", "labels", []any{item}); err != nil {
			return nil, err
		}
	}
	return append(b, out...), nil
}
