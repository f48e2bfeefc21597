package config

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/cutoverhq/cutover/engine/parallel"
)

// parsePiece is about how much of a file is lexed and parsed at once.
//
// The HCL lexer gathers every token of the source in one slice before the
// parser starts, and append grows a large slice by a quarter at a time: a
// generated pipeline of 10,000 stages (1.5 MB) had its tokens copied over
// and over, most of validate's time and memory (docs/design.md, "Targets").
// Parsed top-level item by top-level item in pieces of this size, a file
// costs in proportion to its length.
const parsePiece = 4 << 10

// parseFile vets src (CheckSource) and parses it. A file larger than one
// piece is parsed in pieces cut between its top-level blocks, at new lines
// the nesting scanner saw at the top level; the pieces' blocks are joined
// into one body, the same one a parse of the whole file gives. Should any
// piece not parse cleanly, the whole file is parsed again at once, so its
// diagnostics are exactly the parser's.
func parseFile(p *hclparse.Parser, src []byte, filename string) (*hcl.File, hcl.Diagnostics) {
	if d := checkText(src, filename); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	d, cuts := scanNesting(src, filename, ConfigSource, parsePiece)
	if d != nil {
		return nil, hcl.Diagnostics{d}
	}
	if len(cuts) > 0 {
		if f := parsePieces(src, filename, cuts); f != nil {
			p.AddFile(filename, f)
			return f, nil
		}
	}
	return p.ParseHCL(src, filename)
}

// parsePieces returns nil when a piece has any diagnostic or the pieces do
// not join (an attribute set in two of them). The pieces are independent
// until joined, so they are parsed on every processor at once: the parser,
// not the checks after it, is most of a large file's validate.
func parsePieces(src []byte, filename string, cuts []int) *hcl.File {
	bounds := append(cuts, len(src))
	// Piece i starts just after a new line: at the first column of the
	// line after those of the pieces before it.
	starts := make([]hcl.Pos, len(bounds))
	starts[0] = hcl.InitialPos
	for i := 1; i < len(bounds); i++ {
		from := bounds[i-1]
		lines := bytes.Count(src[starts[i-1].Byte:from], []byte("\n"))
		starts[i] = hcl.Pos{Line: starts[i-1].Line + lines, Column: 1, Byte: from}
	}
	files := make([]*hcl.File, len(bounds))
	ok := parallel.For(len(bounds), func(i int) bool {
		f, diags := hclsyntax.ParseConfig(src[starts[i].Byte:bounds[i]], filename, starts[i])
		files[i] = f
		return len(diags) == 0
	})
	if !ok {
		return nil
	}
	// The first piece's body becomes the file's: its navigation (the "in
	// stage …" context of diagnostics) points at it.
	file := files[0]
	body := file.Body.(*hclsyntax.Body)
	for _, f := range files[1:] {
		b := f.Body.(*hclsyntax.Body)
		for name, a := range b.Attributes {
			if _, dup := body.Attributes[name]; dup {
				return nil
			}
			body.Attributes[name] = a
		}
		body.Blocks = append(body.Blocks, b.Blocks...)
		body.SrcRange.End, body.EndRange = b.SrcRange.End, b.EndRange
	}
	file.Bytes = src
	return file
}
