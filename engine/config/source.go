package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// MaxFileSize bounds a pipeline file and a file read by file() or
// templatefile(). Pipelines are a few kilobytes of hand-written source; the
// bound keeps a generated or mistaken file from costing minutes of parsing.
const MaxFileSize = 4 << 20

// MaxNesting bounds how deeply brackets, braces, parentheses, strings,
// interpolations and template directives nest. The HCL parser recurses once
// per level (and evaluation does again), so without a bound a file of
// 100,000 "(" ends the process with a stack overflow, which no recover can
// catch. Nothing written by hand comes near it.
const MaxNesting = 256

// maxComplexity bounds nesting plus the operators pending at each level: a
// chain like !!!!…x or a ? b : a ? b : … recurses in the parser, and a+a+…
// builds a tree that evaluation walks recursively, without any bracket.
const maxComplexity = 1024

// SourceKind says how a source is read: a whole file of blocks, a lone
// expression (a -var value), or a template (templatefile).
type SourceKind int

const (
	ConfigSource SourceKind = iota
	ExpressionSource
	TemplateSource
)

// ReadSource reads a file of at most MaxFileSize bytes. what says what the
// file is to the user ("pipeline file", "variable file") in the diagnostic.
func ReadSource(filename, what string) ([]byte, *hcl.Diagnostic) {
	cannot := "Cannot read " + what
	f, err := os.Open(filename)
	if err != nil {
		return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: cannot, Detail: err.Error()}
	}
	defer f.Close()
	size := int64(0)
	if st, err := f.Stat(); err == nil {
		if !st.Mode().IsRegular() {
			// A FIFO or a device would block or never end.
			return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: cannot,
				Detail: fmt.Sprintf("%s is not a regular file.", filename)}
		}
		size = st.Size()
	}
	// Read into a buffer of the file's size (and a byte to see the end):
	// io.ReadAll grows its own by copying, twice the file's size for a
	// large one.
	buf := bytes.NewBuffer(make([]byte, 0, min(size, MaxFileSize)+bytes.MinRead))
	_, err = buf.ReadFrom(io.LimitReader(f, MaxFileSize+1))
	src := buf.Bytes()
	if err != nil {
		return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: cannot, Detail: err.Error()}
	}
	if len(src) > MaxFileSize {
		return nil, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "File too large",
			Detail: fmt.Sprintf("%s is larger than %d MiB, the most cutover reads of a %s; is it really one?",
				filename, MaxFileSize>>20, what),
			Subject: &hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos},
		}
	}
	return src, nil
}

// CheckSource returns a diagnostic when src must not reach the HCL parser:
// it is not text (a NUL byte or invalid UTF-8, which the parser would
// report once per byte, echoing each), or it nests deeper than MaxNesting.
// It returns nil for everything else, including sources with syntax errors,
// which the parser reports better.
func CheckSource(src []byte, filename string, kind SourceKind) *hcl.Diagnostic {
	if d := checkText(src, filename); d != nil {
		return d
	}
	return checkNesting(src, filename, kind)
}

func checkText(src []byte, filename string) *hcl.Diagnostic {
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		var what string
		switch {
		case r == utf8.RuneError && n == 1:
			what = fmt.Sprintf("0x%02x, which is not UTF-8", src[i])
		case r == 0:
			what = "a NUL (0x00)"
		default:
			i += n
			continue
		}
		pos := posAt(src, i)
		return &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Not a text file",
			Detail: fmt.Sprintf("%s is not a text file: byte %d is %s. Pipeline files are UTF-8 text.",
				filename, i+1, what),
			Subject: &hcl.Range{Filename: filename, Start: pos, End: pos},
		}
	}
	return nil
}

// posAt is the position of byte offset off; the prefix is valid UTF-8.
func posAt(src []byte, off int) hcl.Pos {
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	return hcl.Pos{Line: line, Column: 1 + utf8.RuneCount(src[start:off]), Byte: off}
}

// frame is one level of what the scanner is inside.
type frame struct {
	kind byte // 'r' code root, 't' template root, '{' '(' '[', 'i' ${…} or %{…}, 'q' "…", 'h' heredoc
	// marker ends a heredoc.
	marker []byte
	// ops counts operators since the last separator at this code level;
	// directives counts open %{if}/%{for} in this template.
	ops, directives int
	// lineStart: a heredoc is at the start of a line, where its marker
	// can end it. The lexer keeps it per heredoc, and so must we: it is
	// false again after an interpolation, whatever happened inside.
	lineStart bool
}

// nestScanner follows the HCL lexer's modes (code, quoted string, heredoc,
// bare template) closely enough to count nesting the way the parser will
// recurse: it must never take code for a comment or a string, or a crafted
// file would slip past it. It allocates only its stack, which the bound
// keeps small, so it costs nothing next to the parse it protects.
type nestScanner struct {
	src                []byte
	stack              []frame
	depth, complexity  int
	overAt, overReason int
	// cuts are offsets of new lines between top-level items, at least
	// cutEvery bytes apart (0: none kept); see parseFile.
	cuts     []int
	cutEvery int
}

const (
	tooDeep = iota + 1
	tooComplex
)

func checkNesting(src []byte, filename string, kind SourceKind) *hcl.Diagnostic {
	d, _ := scanNesting(src, filename, kind, 0)
	return d
}

// scanNesting is checkNesting that also returns where a file of blocks may
// be cut into pieces of about cutEvery bytes (see parseFile).
func scanNesting(src []byte, filename string, kind SourceKind, cutEvery int) (*hcl.Diagnostic, []int) {
	s := &nestScanner{src: src, cutEvery: cutEvery}
	root := frame{kind: 'r'}
	if kind == TemplateSource {
		root.kind = 't'
	}
	s.stack = append(s.stack, root)
	start := 0
	if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) {
		start = 3 // the lexer skips a byte order mark
	}
	at := s.scan(start)
	if at < 0 {
		return nil, s.cuts
	}
	pos := posAt(src, at)
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Subject: &hcl.Range{Filename: filename, Start: pos, End: pos}}
	if s.overReason == tooDeep {
		d.Summary = "Nesting too deep"
		d.Detail = fmt.Sprintf("Brackets, braces, parentheses, strings or template directives nest more than %d deep here; cutover stops reading %s at this point. Split the expression up, with locals.",
			MaxNesting, filename)
	} else {
		d.Summary = "Expression too complex"
		d.Detail = fmt.Sprintf("More than %d operators and nested brackets build up here without a comma or a new line; cutover stops reading %s at this point. Split the expression up, with locals.",
			maxComplexity, filename)
	}
	return d, nil
}

func (s *nestScanner) lastCut() int {
	if len(s.cuts) == 0 {
		return 0
	}
	return s.cuts[len(s.cuts)-1]
}

func (s *nestScanner) top() *frame { return &s.stack[len(s.stack)-1] }

func (s *nestScanner) push(f frame, at int) bool {
	s.stack = append(s.stack, f)
	s.depth++
	s.complexity++
	return s.check(at)
}

func (s *nestScanner) pop() {
	if len(s.stack) <= 1 {
		return // an unbalanced close: the parser reports it
	}
	f := s.top()
	s.depth -= 1 + f.directives
	s.complexity -= 1 + f.directives + f.ops
	s.stack = s.stack[:len(s.stack)-1]
}

func (s *nestScanner) check(at int) bool {
	switch {
	case s.depth > MaxNesting:
		s.overReason = tooDeep
	case s.complexity > maxComplexity:
		s.overReason = tooComplex
	default:
		return true
	}
	s.overAt = at
	return false
}

// scan returns the offset where a bound is exceeded, or -1.
func (s *nestScanner) scan(i int) int {
	src := s.src
	for i < len(src) {
		var ok bool
		switch s.top().kind {
		case 'r', '{', '(', '[', 'i':
			i, ok = s.code(i)
		default:
			i, ok = s.template(i)
		}
		if !ok {
			return s.overAt
		}
	}
	return -1
}

// op counts an operator at the current code level.
func (s *nestScanner) op(at int) bool {
	s.top().ops++
	s.complexity++
	return s.check(at)
}

// separate ends an expression at the current code level: its operators no
// longer nest anything that follows.
func (s *nestScanner) separate() {
	f := s.top()
	s.complexity -= f.ops
	f.ops = 0
}

// closeBrace mirrors the lexer: a "}" ends the innermost "{" or template
// sequence, whatever brackets are still open inside it.
func (s *nestScanner) closeBrace() {
	for len(s.stack) > 1 {
		k := s.top().kind
		if k == '{' || k == 'i' {
			s.pop()
			return
		}
		if k != '(' && k != '[' {
			return // a stray "}" in a string's code: the parser reports it
		}
		s.pop()
	}
}

func (s *nestScanner) code(i int) (int, bool) {
	src := s.src
	c := src[i]
	next := byte(0)
	if i+1 < len(src) {
		next = src[i+1]
	}
	switch {
	case c == ' ' || c == '\t' || c == '\r':
		return i + 1, true
	case c == '\n':
		if k := s.top().kind; k == 'r' || k == '{' {
			s.separate()
		}
		if len(s.stack) == 1 && s.cutEvery > 0 && i+1-s.lastCut() >= s.cutEvery {
			s.cuts = append(s.cuts, i+1)
		}
		return i + 1, true
	case c == '#' || c == '/' && next == '/':
		if j := bytes.IndexByte(src[i:], '\n'); j >= 0 {
			return i + j, true // the newline still separates
		}
		return len(src), true
	case c == '/' && next == '*':
		if j := bytes.Index(src[i+2:], []byte("*/")); j >= 0 {
			return i + 2 + j + 2, true
		}
		// The lexer reads an unterminated /* as the operators / and *,
		// and goes on lexing code.
		return i + 1, s.op(i)
	case c == '"':
		return i + 1, s.push(frame{kind: 'q'}, i)
	case c == '<' && next == '<':
		if marker, end, ok := heredocStart(src, i); ok {
			return end, s.push(frame{kind: 'h', marker: marker, lineStart: true}, i)
		}
		return i + 2, s.op(i)
	case c == '{':
		return i + 1, s.push(frame{kind: '{'}, i)
	case c == '}':
		s.closeBrace()
		return i + 1, true
	case c == '~' && next == '}':
		s.closeBrace()
		return i + 2, true
	case c == '(' || c == '[':
		// An index or a call after a term is an operator of this level
		// (a[x][x]… nests without the brackets staying open).
		if !s.op(i) {
			return i, false
		}
		return i + 1, s.push(frame{kind: c}, i)
	case c == ')' || c == ']':
		if k := s.top().kind; k == '(' || k == '[' {
			s.pop()
		}
		return i + 1, true
	case c == ',':
		s.separate()
		return i + 1, true
	case c == '=':
		if next == '=' {
			return i + 2, s.op(i)
		}
		if next != '>' {
			s.separate()
		}
		return i + 1, true
	case c == '!' || c == '<' || c == '>':
		if next == '=' {
			return i + 2, s.op(i)
		}
		return i + 1, s.op(i)
	case c == '&' || c == '|':
		if next == c {
			return i + 2, s.op(i)
		}
		return i + 1, s.op(i)
	case c == '+' || c == '-' || c == '*' || c == '/' || c == '%' || c == '?':
		return i + 1, s.op(i)
	case c >= '0' && c <= '9':
		return skipNumber(src, i), true
	case c == '_' || isIdentStart(src, i):
		return skipIdent(src, i), true
	}
	return i + 1, true
}

// template scans a quoted string, a heredoc or a bare template.
func (s *nestScanner) template(i int) (int, bool) {
	src := s.src
	f := s.top()
	if f.kind == 'h' && f.lineStart {
		end := bytes.IndexByte(src[i:], '\n')
		if end >= 0 && bytes.Equal(bytes.TrimSpace(src[i:i+end+1]), f.marker) {
			s.pop()
			return i + end, true // the newline is code again
		}
	}
	c := src[i]
	next := byte(0)
	if i+1 < len(src) {
		next = src[i+1]
	}
	f.lineStart = c == '\n'
	switch {
	case c == '\n':
		return i + 1, true
	case c == '"' && f.kind == 'q':
		s.pop()
		return i + 1, true
	case c == '\\' && f.kind == 'q':
		if next != 0 && next != '\n' && next != '\r' {
			return i + 2, true
		}
		return i + 1, true
	case (c == '$' || c == '%') && next == c && i+2 < len(src) && src[i+2] == '{':
		return i + 3, true // $${ and %%{ are literal
	case (c == '$' || c == '%') && next == '{':
		j := i + 2
		if j < len(src) && src[j] == '~' {
			j++
		}
		if c == '%' && !s.directive(j) {
			return i, false
		}
		return j, s.push(frame{kind: 'i'}, i)
	}
	return i + 1, true
}

// directive counts the nesting of %{ if } and %{ for } in the current
// template: the parser builds them into a tree by recursion.
func (s *nestScanner) directive(j int) bool {
	src := s.src
	for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
		j++
	}
	word := src[j:skipIdent(src, j)]
	f := s.top()
	switch string(word) {
	case "if", "for":
		f.directives++
		s.depth++
		s.complexity++
		return s.check(j)
	case "endif", "endfor":
		if f.directives > 0 {
			f.directives--
			s.depth--
			s.complexity--
		}
	}
	return true
}

// heredocStart matches <<MARKER or <<-MARKER followed by a new line, as the
// lexer does; it returns the marker and the offset after the new line.
func heredocStart(src []byte, i int) ([]byte, int, bool) {
	j := i + 2
	if j < len(src) && src[j] == '-' {
		j++
	}
	if j >= len(src) || !(src[j] == '_' || isIdentStart(src, j)) {
		return nil, 0, false
	}
	end := skipIdent(src, j)
	marker := src[j:end]
	if end < len(src) && src[end] == '\r' {
		end++
	}
	if end >= len(src) || src[end] != '\n' {
		return nil, 0, false
	}
	return marker, end + 1, true
}

func isIdentStart(src []byte, i int) bool {
	r, _ := utf8.DecodeRune(src[i:])
	return unicode.IsLetter(r)
}

func skipIdent(src []byte, i int) int {
	for i < len(src) {
		r, n := utf8.DecodeRune(src[i:])
		if r != '_' && r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Mc, r) {
			return i
		}
		i += n
	}
	return i
}

func skipNumber(src []byte, i int) int {
	for i < len(src) {
		c := src[i]
		switch {
		case c >= '0' && c <= '9' || c == '.':
			i++
		case (c == 'e' || c == 'E') && i+1 < len(src):
			j := i + 1
			if src[j] == '+' || src[j] == '-' {
				j++
			}
			if j < len(src) && src[j] >= '0' && src[j] <= '9' {
				i = j
				continue
			}
			return i
		default:
			return i
		}
	}
	return i
}
