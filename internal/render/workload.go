package render

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/cutoverhq/cutover/kube"
)

// Check says when the rendered objects lack w: no object of its kind and
// name, or one whose pod template lacks a label. An object of the kind
// under another name is the likely culprit: the error is placed at its
// name's line in the chart's template or the overlay's file. what names
// the input for the message ("chart charts/web").
func (w *Workload) Check(what string, files []File, ms []kube.Manifest) error {
	if w == nil {
		return nil
	}
	var others []kube.Manifest
	for _, m := range ms {
		if m.Object.GetKind() != w.Kind {
			continue
		}
		if m.Object.GetName() != w.Name {
			others = append(others, m)
			continue
		}
		labels := mapAt(m.Object.Object, "spec", "template", "metadata", "labels")
		var missing []string
		for _, k := range slices.Sorted(maps.Keys(w.Labels)) {
			if labels[k] != w.Labels[k] {
				have := "none"
				if v, ok := labels[k]; ok {
					have = fmt.Sprintf("%q", v)
				}
				missing = append(missing, fmt.Sprintf("%s=%s (it has %s)", k, w.Labels[k], have))
			}
		}
		if len(missing) == 0 {
			if err := w.checkNamespace(what, files, m); err != nil {
				return err
			}
			if !w.Held {
				return nil
			}
			return w.checkHeld(what, files, m)
		}
		e := at(files, m, w.Name)
		e.Msg = fmt.Sprintf("the pod template of %s %s lacks the labels %s, which the pipeline selects its pods by; %s",
			w.Kind, w.Name, strings.Join(missing, ", "), labelAdvice(what))
		return e
	}
	var names []string
	for _, m := range others {
		names = append(names, m.Object.GetName())
	}
	if len(others) > 0 {
		e := at(files, others[0], others[0].Object.GetName())
		e.Msg = fmt.Sprintf("%s renders %s %s, but the pipeline acts on %s %s: %s",
			what, w.Kind, strings.Join(names, ", "), w.Kind, w.Name, nameAdvice(what, w.NameSuffix))
		return e
	}
	var kinds []string
	for _, m := range ms {
		kinds = append(kinds, m.Object.GetKind()+" "+m.Object.GetName())
	}
	if len(kinds) == 0 {
		kinds = []string{"nothing"}
	}
	return &Error{File: strings.TrimPrefix(strings.TrimPrefix(what, "chart "), "overlay "), Msg: fmt.Sprintf(
		"%s renders no %s (it renders %s), but the pipeline acts on %s %s", what, w.Kind, strings.Join(kinds, ", "), w.Kind, w.Name)}
}

var nameLine = regexp.MustCompile(`^(\s*)name:`)

// namespaceLine is where a rendered object (or, for an overlay, its
// kustomization) sets its namespace.
var namespaceLine = regexp.MustCompile(`^(\s*)namespace:`)

// checkNamespace says when m, the workload, is rendered into a namespace
// other than the one the pipeline acts in (w.Namespace, when known).
func (w *Workload) checkNamespace(what string, files []File, m kube.Manifest) error {
	ns := m.Object.GetNamespace()
	if w.Namespace == "" || ns == "" || ns == w.Namespace {
		return nil
	}
	var e *Error
	if w.namespaceAt != nil {
		c := *w.namespaceAt
		e = &c
	} else if e = atLine(files, m, namespaceLine); e.Line == 0 {
		e = at(files, m, w.Name)
	}
	fix := "remove the namespace from the overlay (its kustomization's namespace: or the object's), or run in " + ns + " (-n " + ns + ")"
	if strings.HasPrefix(what, "chart") {
		fix = "the chart must put it in .Release.Namespace, which the pipeline sets, or run in " + ns + " (-n " + ns + ")"
	}
	e.Msg = fmt.Sprintf("%s renders %s %s into namespace %s, but the pipeline acts in %s (its run, lock and later stages would not find it there): %s",
		what, w.Kind, w.Name, ns, w.Namespace, fix)
	return e
}

func nameAdvice(what, suffix string) string {
	if strings.HasPrefix(what, "chart") {
		return "name it after the release ({{ .Release.Name }}), which the pipeline sets"
	}
	if suffix != "" {
		return "name it after app in the overlay, with no namePrefix or nameSuffix of its own; the pipeline adds the suffix " + suffix
	}
	return "name it after app in the overlay: a namePrefix or nameSuffix in its kustomization renames it, and the pipeline adds none"
}

func labelAdvice(what string) string {
	if strings.HasPrefix(what, "chart") {
		return "the chart must add .Values.podLabels to its pod template, as `helm create` does"
	}
	return "the pipeline adds them with the kustomization's labels: a patch of the overlay must not remove them"
}

// mapAt is the map at path in obj, empty when there is none.
func mapAt(obj map[string]any, path ...string) map[string]any {
	cur := obj
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			return map[string]any{}
		}
		cur = next
	}
	return cur
}

// at is the place of object m's name in the file it was rendered from:
// the source line of its `name:` line, when the file's lines map back.
func at(files []File, m kube.Manifest, name string) *Error {
	return atLine(files, m, regexp.MustCompile(`^(\s*)name:\s*["']?`+regexp.QuoteMeta(name)+`["']?\s*$`))
}

// atLine is the place of the first rendered line of m's file that re
// matches (its first group: the indentation), mapped back to its source;
// else, in a template, the template's first name line.
func atLine(files []File, m kube.Manifest, re *regexp.Regexp) *Error {
	fileName, _, _ := strings.Cut(m.Source, ", document ")
	for _, f := range files {
		if f.Name != fileName {
			continue
		}
		e := &Error{File: f.Name}
		for i, l := range strings.Split(f.Text, "\n") {
			if m := re.FindStringSubmatch(l); m != nil {
				e.Line, e.Col = f.Line(i+1, len(m[1])+1)
				break
			}
		}
		if e.Line == 0 && f.Template != "" {
			// A templated name: the template's first name line (metadata's).
			for i, l := range strings.Split(f.Template, "\n") {
				if m := nameLine.FindStringSubmatch(l); m != nil {
					e.Line, e.Col = i+1, len(m[1])+1
					break
				}
			}
		}
		return e
	}
	return &Error{File: fileName}
}
