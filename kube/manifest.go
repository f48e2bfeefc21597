package kube

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Manifest is one object of a manifest set, with where it came from so
// messages can point at it.
type Manifest struct {
	Object *unstructured.Unstructured
	Source string // "manifest 1, document 3"
}

// ParseManifests splits each string into YAML (or JSON) documents and decodes
// them. Empty documents are skipped; a List's items are expanded. Every
// object must have apiVersion, kind and metadata.name; all problems are
// returned at once, each naming its manifest and document.
func ParseManifests(texts []string) ([]Manifest, error) {
	named := make([]NamedText, len(texts))
	for i, t := range texts {
		named[i] = NamedText{Name: fmt.Sprintf("manifest %d", i+1), Text: t}
	}
	return ParseNamed(named)
}

// NamedText is a manifest text and the name its messages give it (a chart's
// template file, say).
type NamedText struct {
	Name, Text string
}

// ParseNamed is ParseManifests for texts with names of their own: sources
// and errors read "NAME, document 2".
func ParseNamed(texts []NamedText) ([]Manifest, error) {
	var out []Manifest
	var errs []error
	for _, text := range texts {
		r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(text.Text)))
		for doc := 1; ; doc++ {
			raw, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			src := fmt.Sprintf("%s, document %d", text.Name, doc)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", src, err))
				break
			}
			if len(bytes.TrimSpace(raw)) == 0 {
				continue
			}
			// Through JSON with the apimachinery decoder, so integers stay
			// int64 as they would coming from the API server.
			j, err := yaml.YAMLToJSON(raw)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: invalid YAML: %w", src, err))
				continue
			}
			var m map[string]any
			if err := utiljson.Unmarshal(j, &m); err != nil {
				errs = append(errs, fmt.Errorf("%s: not an object (a YAML mapping with apiVersion, kind and metadata): %w", src, err))
				continue
			}
			if len(m) == 0 {
				continue // only comments, or "---" twice
			}
			u := &unstructured.Unstructured{Object: m}
			if u.IsList() {
				items, err := listItems(u, src)
				if err != nil {
					errs = append(errs, err)
				}
				out = append(out, items...)
				continue
			}
			if err := checkObject(u); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", src, err))
				continue
			}
			out = append(out, Manifest{Object: u, Source: src})
		}
	}
	return out, errors.Join(errs...)
}

func listItems(u *unstructured.Unstructured, src string) ([]Manifest, error) {
	var out []Manifest
	var errs []error
	err := u.EachListItem(func(o runtime.Object) error {
		item, ok := o.(*unstructured.Unstructured)
		if !ok {
			return fmt.Errorf("%s: list item is not an object", src)
		}
		isrc := fmt.Sprintf("%s, item %d", src, len(out)+len(errs)+1)
		if err := checkObject(item); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", isrc, err))
			return nil
		}
		out = append(out, Manifest{Object: item, Source: isrc})
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func checkObject(u *unstructured.Unstructured) error {
	var missing []string
	if u.GetAPIVersion() == "" {
		missing = append(missing, "apiVersion")
	}
	if u.GetKind() == "" {
		missing = append(missing, "kind")
	}
	if u.GetName() == "" {
		if u.GetGenerateName() != "" {
			return fmt.Errorf("%s %q uses metadata.generateName, which cannot be applied (a release must name what it owns); set metadata.name", u.GetKind(), u.GetGenerateName())
		}
		missing = append(missing, "metadata.name")
	}
	if len(missing) > 0 {
		what := "object"
		if u.GetKind() != "" {
			what = u.GetKind()
		}
		return fmt.Errorf("%s has no %s", what, strings.Join(missing, ", "))
	}
	return nil
}

// podSpecPaths lists where each workload kind keeps its pod spec.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// SetImages sets the image of every container and init container named in
// images (container name → image) in obj's pod spec, if obj has one. An
// image of the form ":TAG" sets the tag only (kustomize's newTag): the
// container keeps the repository its manifests name, so a pipeline can
// release its version without replacing a chart's or overlay's registry.
// It returns the names it matched.
func SetImages(obj *unstructured.Unstructured, images map[string]string) (matched []string, err error) {
	path, ok := podSpecPaths[obj.GetKind()]
	if !ok || len(images) == 0 {
		return nil, nil
	}
	for _, field := range []string{"initContainers", "containers"} {
		p := append(append([]string{}, path...), field)
		list, found, err := unstructured.NestedSlice(obj.Object, p...)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %s is not a list: %w", obj.GetKind(), obj.GetName(), strings.Join(p, "."), err)
		}
		if !found {
			continue
		}
		changed := false
		for _, c := range list {
			cm, ok := c.(map[string]any)
			if !ok {
				continue
			}
			name, _ := cm["name"].(string)
			if img, ok := images[name]; ok {
				if strings.HasPrefix(img, ":") {
					old, _ := cm["image"].(string)
					img = Repository(old) + img
				}
				cm["image"] = img
				matched = append(matched, name)
				changed = true
			}
		}
		if changed {
			if err := unstructured.SetNestedSlice(obj.Object, list, p...); err != nil {
				return nil, err
			}
		}
	}
	sort.Strings(matched)
	return matched, nil
}

// Repository is image without its tag or digest: "host:5000/team/app:v1"
// is "host:5000/team/app".
func Repository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

// ContainerNames lists the containers and init containers of obj's pod spec.
func ContainerNames(obj *unstructured.Unstructured) []string {
	path, ok := podSpecPaths[obj.GetKind()]
	if !ok {
		return nil
	}
	var out []string
	for _, field := range []string{"initContainers", "containers"} {
		list, _, _ := unstructured.NestedSlice(obj.Object, append(append([]string{}, path...), field)...)
		for _, c := range list {
			if cm, ok := c.(map[string]any); ok {
				if n, ok := cm["name"].(string); ok {
					out = append(out, n)
				}
			}
		}
	}
	return out
}
