package render

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// hookAnnotation marks a Helm hook: run by Helm around an install, not part
// of the release's objects.
const hookAnnotation = "helm.sh/hook"

// LeaveOutHooks blanks the documents of rendered files that are Helm
// hooks, which cutover does not run (docs/design.md, "Charts and
// overlays"): deploy does not apply them and lint does not lint them. Each
// hook's lines become empty lines, so every other line keeps its number
// and File.Line still maps it to the template. It returns the files and a
// line naming what was left out ("" for none).
func LeaveOutHooks(files []File) ([]File, string) {
	var left []string
	out := make([]File, len(files))
	for i, f := range files {
		out[i] = f
		lines := strings.Split(f.Text, "\n")
		changed := false
		start := 0
		for end := 0; end <= len(lines); end++ {
			if end < len(lines) && !isSeparator(lines[end]) {
				continue
			}
			if h := hookOf(strings.Join(lines[start:end], "\n")); h != "" {
				left = append(left, h)
				for k := start; k < end; k++ {
					lines[k] = ""
				}
				changed = true
			}
			start = end + 1
		}
		if changed {
			out[i].Text = strings.Join(lines, "\n")
		}
	}
	if len(left) == 0 {
		return files, ""
	}
	return out, "left out Helm hooks, which cutover does not run: " + strings.Join(left, ", ")
}

// isSeparator is a YAML document separator line.
func isSeparator(l string) bool {
	l = strings.TrimRight(l, " \t\r")
	return l == "---" || strings.HasPrefix(l, "--- ")
}

// hookOf names a document that is a Helm hook ("Pod web-test (test)"), ""
// for any other (one that does not parse is left to the parser after).
func hookOf(doc string) string {
	var obj struct {
		Kind     string
		Metadata struct {
			Name        string
			Annotations map[string]string
		}
	}
	if yaml.Unmarshal([]byte(doc), &obj) != nil {
		return ""
	}
	h := obj.Metadata.Annotations[hookAnnotation]
	if h == "" {
		return ""
	}
	return fmt.Sprintf("%s %s (%s)", obj.Kind, obj.Metadata.Name, h)
}
