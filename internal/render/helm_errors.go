package render

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// templatePos finds "web/templates/x.yaml:12:5" (or :12) in an engine error.
var templatePos = regexp.MustCompile(`([\w.\-/]+\.(?:yaml|yml|tpl|txt|json)):(\d+)(?::(\d+))?`)

// templateError places an engine error at the template file, line and
// column it names (the innermost, for an error inside an include). Go's template package gives an execution error's column
// as a 0-based byte offset, and a parse error no column at all: the column
// is then found in the template's line (colOf).
func templateError(p string, ch *chart.Chart, err error) error {
	var ve *ValuesProblem
	if errors.As(err, &ve) {
		return ve
	}
	msg := err.Error()
	e := &Error{File: p, Msg: msg}
	matches := templatePos.FindAllStringSubmatch(msg, -1)
	if _, after, ok := strings.Cut(msg, "started at "); ok {
		// An unclosed action: the parser names the end of the file first.
		matches = templatePos.FindAllStringSubmatch(after, 1)
	}
	name := ch.Name()
	// The last position is the innermost: inside the include that failed.
	for i := len(matches) - 1; i >= 0; i-- {
		m := matches[i]
		if !strings.HasPrefix(m[1], name+"/") {
			continue
		}
		e.File = diskName(p, name, m[1])
		e.Line, _ = strconv.Atoi(m[2])
		if m[3] != "" {
			c, _ := strconv.Atoi(m[3])
			e.Col = c + 1
		} else {
			e.Col = colOf(lineAt(templateSources(ch)[m[1]], e.Line), msg)
		}
		e.Msg = templateMsg(msg)
		break
	}
	return e
}

// Positions in an engine error: "parse error at (web/templates/x.yaml:4)",
// "execution error at (…:4:6)", "… started at …:3", and "web/templates/
// x.yaml:4:6 " before what an execution was doing there.
var (
	innerPos  = regexp.MustCompile(templatePos.String() + `:? executing `)
	positions = regexp.MustCompile(` at \(` + templatePos.String() + `\)| started at ` + templatePos.String() + `|^` + templatePos.String() + `:? `)
)

// templateMsg is an engine error's message without the positions in it:
// the Error says where, once, as file:line:col (a column in the message
// too read as a second one). For an error inside an include it is what the
// innermost execution did; the includes around it are left out.
func templateMsg(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if locs := innerPos.FindAllStringIndex(msg, -1); len(locs) > 0 {
		msg = msg[locs[len(locs)-1][0]:]
	}
	return positions.ReplaceAllString(msg, "")
}

// parseSubject picks, in a parse error, what the error is about: a function
// name, or the keyword of a misplaced action.
var parseSubject = regexp.MustCompile(`function "([^"]+)" not defined|unexpected \{\{(end|else|break|continue)\}\}|missing value for (\w+)|unclosed action`)

// colOf is the 1-based column, in a template line, of what a parse error
// names: the undefined function, the action holding a misplaced keyword or
// the unclosed action; else the line's first action; 0 when the line has
// none.
func colOf(line, msg string) int {
	if line == "" {
		return 0
	}
	if m := parseSubject.FindStringSubmatch(msg); m != nil {
		switch {
		case m[1] != "":
			if i := wordIndex(line, m[1]); i >= 0 {
				return i + 1
			}
		case m[2] != "" || m[3] != "":
			kw := m[2] + m[3]
			re := regexp.MustCompile(`\{\{-?\s*` + regexp.QuoteMeta(kw) + `\b`)
			if loc := re.FindStringIndex(line); loc != nil {
				return loc[0] + 1
			}
		default: // unclosed: the last action opened on the line
			if i := strings.LastIndex(line, "{{"); i >= 0 && !strings.Contains(line[i:], "}}") {
				return i + 1
			}
		}
	}
	return strings.Index(line, "{{") + 1
}

// wordIndex is the byte offset of w in s as a whole word, -1 when absent.
func wordIndex(s, w string) int {
	loc := regexp.MustCompile(`\b` + regexp.QuoteMeta(w) + `\b`).FindStringIndex(s)
	if loc == nil {
		return -1
	}
	return loc[0]
}

// lineAt is line n (1-based) of s, "" when s has fewer.
func lineAt(s string, n int) string {
	lines := strings.Split(s, "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}
