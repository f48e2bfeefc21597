package render

import "strings"

// Line maps a line (and column) of f's rendered text back to its template,
// where the template shows it: the template line that reads the same, or
// whose text before its first action ("image: {{ … }}") starts the rendered
// line; among several, the nearest to where the rendered line is. It
// returns 0, 0 when no template line fits (a line made by an include or a
// range), and the position unchanged for a file that is its own source.
// For an overlay's objects, named after the file each came from, the line
// is that of the same key in the object's source document (origin.go).
func (f File) Line(line, col int) (int, int) {
	if f.at != nil {
		if line <= 0 || line > len(f.at) {
			return 0, 0
		}
		return place(f.at[line-1], col)
	}
	if f.Template == "" {
		return line, col
	}
	out := strings.Split(f.Text, "\n")
	if line <= 0 || line > len(out) {
		return 0, 0
	}
	got := out[line-1]
	want := strings.TrimSpace(got)
	if want == "" {
		return 0, 0
	}
	tpl := strings.Split(f.Template, "\n")
	best, bestDist := 0, 0
	consider := func(i int) {
		d := i + 1 - line
		if d < 0 {
			d = -d
		}
		if best == 0 || d < bestDist {
			best, bestDist = i+1, d
		}
	}
	for i, t := range tpl {
		if strings.TrimSpace(t) == want {
			consider(i)
		}
	}
	if best == 0 {
		for i, t := range tpl {
			lit, _, action := strings.Cut(strings.TrimSpace(t), "{{")
			if action && strings.TrimSpace(lit) != "" && strings.HasPrefix(want, lit) {
				consider(i)
			}
		}
	}
	if best == 0 {
		return 0, 0
	}
	if col > 0 {
		col += indentOf(tpl[best-1]) - indentOf(got)
		if col < 1 {
			col = 1
		}
	}
	return best, col
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " \t")) }
