package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestParsePieces: a file parsed in pieces has the blocks, ranges and
// diagnostics of the file parsed whole, heredocs and comments that span
// many lines included.
func TestParsePieces(t *testing.T) {
	var b strings.Builder
	for i := range 3 * parsePiece / 100 {
		fmt.Fprintf(&b, "stage \"s%d\" {\n  exec {\n    command = [\"echo\", <<EOT\nstage \"fake\" {\n}\nEOT\n    ]\n  }\n}\n/* a comment\n} */\n", i)
	}
	src := []byte(b.String())
	pieced, diags := parseFile(hclparse.NewParser(), src, "p.hcl")
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	whole, _ := hclsyntax.ParseConfig(src, "p.hcl", hcl.InitialPos)
	pb, wb := pieced.Body.(*hclsyntax.Body), whole.Body.(*hclsyntax.Body)
	if len(pb.Blocks) != len(wb.Blocks) || len(pb.Blocks) < 3*parsePiece/100 {
		t.Fatalf("%d blocks pieced, %d whole", len(pb.Blocks), len(wb.Blocks))
	}
	for i := range wb.Blocks {
		if pb.Blocks[i].Labels[0] != wb.Blocks[i].Labels[0] || pb.Blocks[i].Range() != wb.Blocks[i].Range() {
			t.Fatalf("block %d: %s at %v pieced, %s at %v whole", i, pb.Blocks[i].Labels[0], pb.Blocks[i].Range(), wb.Blocks[i].Labels[0], wb.Blocks[i].Range())
		}
	}
	if pb.SrcRange != wb.SrcRange || pb.EndRange != wb.EndRange {
		t.Fatalf("body range %v/%v pieced, %v/%v whole", pb.SrcRange, pb.EndRange, wb.SrcRange, wb.EndRange)
	}

	// An error in a later piece: the whole file's diagnostics.
	bad := append(append([]byte{}, src...), "stage \"x\" {\n  exec { command = [\n}\n"...)
	_, got := parseFile(hclparse.NewParser(), bad, "p.hcl")
	_, want := hclsyntax.ParseConfig(bad, "p.hcl", hcl.InitialPos)
	if got.Error() != want.Error() || !got.HasErrors() {
		t.Fatalf("got %v; want %v", got, want)
	}
}
