package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/rogpeppe/go-internal/txtar"
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

// TestParsePiecesCorpus cuts every pipeline of the repository's (examples,
// pipelines, testdata, the scenarios' files) and a set of broken ones at
// every new line the nesting scanner allows, and parses the pieces: a
// file that parses whole without a diagnostic parses in pieces to the same
// tree (every block, attribute, expression and range), and one with any
// diagnostic fails in pieces too, so parseFile reports exactly what the
// parser says of the whole file.
func TestParsePiecesCorpus(t *testing.T) {
	files := corpus(t)
	cut := 0
	for _, f := range files {
		if checkText(f.src, f.name) != nil {
			continue
		}
		d, cuts := scanNesting(f.src, f.name, ConfigSource, 1)
		if d != nil || len(cuts) == 0 {
			continue
		}
		cut++
		whole, wantDiags := hclsyntax.ParseConfig(f.src, f.name, hcl.InitialPos)
		pieced := parsePieces(f.src, f.name, cuts)
		switch {
		case pieced == nil && len(wantDiags) == 0:
			t.Errorf("%s: parses whole but not in the %d pieces cut at %v", f.name, len(cuts)+1, cuts)
		case pieced != nil && len(wantDiags) > 0:
			t.Errorf("%s: parses in pieces, but whole: %v", f.name, wantDiags)
		case pieced != nil && !reflect.DeepEqual(pieced.Body, whole.Body):
			t.Errorf("%s: the pieces' tree differs from the whole file's", f.name)
		}
		_, got := parseFile(hclparse.NewParser(), f.src, f.name)
		if fmt.Sprint(got) != fmt.Sprint(wantDiags) {
			t.Errorf("%s: parseFile says %v; the parser %v", f.name, got, wantDiags)
		}
	}
	if cut < 40 {
		t.Fatalf("only %d of %d files had a place to cut", cut, len(files))
	}
}

type source struct {
	name string
	src  []byte
}

// corpus is every .hcl file of the repository, those inside the
// scenarios' txtar archives, and broken files whose error sits in a
// later piece or straddles a cut.
func corpus(t *testing.T) []source {
	var out []source
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch {
		case strings.HasSuffix(path, ".hcl"):
			src, err := os.ReadFile(path)
			out = append(out, source{path, src})
			return err
		case strings.HasSuffix(path, ".txtar"):
			a, err := txtar.ParseFile(path)
			if err != nil {
				return err
			}
			for _, f := range a.Files {
				if strings.HasSuffix(f.Name, ".hcl") {
					out = append(out, source{path + ":" + f.Name, f.Data})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	good := "pipeline \"p\" {}\nstage \"a\" {\n  exec { command = [\"true\"] }\n}\n"
	for i, bad := range []string{
		"stage \"b\" {\n  exec { command = [\n}\n",            // unclosed bracket
		"stage \"b\" {\n  exec { command = [\"x\"] }\n",       // unclosed block
		"}\nstage \"b\" {}\n",                                 // stray brace
		"stage \"b\" {\n  exec { command = [\"a\nb\"] }\n}\n", // new line in a string
		"locals {\n  x = <<EOT\nstage \"c\" {\n}\n",           // unterminated heredoc
		"/* stage \"c\" {\n}\n",                               // unterminated comment
		"description = \"x\"\ndescription = \"y\"\n",          // attribute set twice, in two pieces
		"a = 1 +\n2\n", // operator before a new line
		"stage \"b\" {\n  exec { command = [\"${\"\n}\"] }\n}\n",       // interpolation over lines
		"stage \"b\" {\n  exec { command = [%{ if true }\"x\"] }\n}\n", // directive in code
		"stage \"b\" {\n  exec { command = [\"x\"] }\n}\n\xff\n",       // invalid byte
	} {
		out = append(out, source{fmt.Sprintf("bad%d.hcl", i), []byte(good + bad + good)})
	}
	return out
}
