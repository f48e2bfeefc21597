package config

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
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
// not join (an attribute set in two of them).
func parsePieces(src []byte, filename string, cuts []int) *hcl.File {
	var file *hcl.File
	var body *hclsyntax.Body
	start, from := hcl.InitialPos, 0
	for i := 0; i <= len(cuts); i++ {
		to := len(src)
		if i < len(cuts) {
			to = cuts[i]
		}
		f, diags := hclsyntax.ParseConfig(src[from:to], filename, start)
		if len(diags) > 0 {
			return nil
		}
		b := f.Body.(*hclsyntax.Body)
		if file == nil {
			// The first piece's body becomes the file's: its navigation
			// (the "in stage …" context of diagnostics) points at it.
			file, body = f, b
		} else {
			for name, a := range b.Attributes {
				if _, dup := body.Attributes[name]; dup {
					return nil
				}
				body.Attributes[name] = a
			}
			body.Blocks = append(body.Blocks, b.Blocks...)
			body.SrcRange.End, body.EndRange = b.SrcRange.End, b.EndRange
		}
		start = hcl.Pos{Line: start.Line + bytes.Count(src[from:to], []byte("\n")), Column: 1, Byte: to}
		from = to
	}
	file.Bytes = src
	return file
}
