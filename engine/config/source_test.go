package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// execKind is a stand-in "exec" step: these tests are about the source,
// not about any real step.
type execKind struct{}

func (execKind) Name() string { return "exec" }
func (execKind) Spec() hcldec.Spec {
	return &hcldec.AttrSpec{Name: "command", Type: cty.List(cty.String), Required: true}
}
func (execKind) Output() cty.Type { return cty.DynamicPseudoType }
func (execKind) Run(context.Context, *steps.Env, cty.Value) (cty.Value, error) {
	return cty.NilVal, nil
}

func testRegistry() *steps.Registry {
	r := steps.NewRegistry()
	r.Register(execKind{})
	return r
}

// deep is n copies of open, then mid, then n copies of close.
func deep(n int, open, mid, close string) string {
	return strings.Repeat(open, n) + mid + strings.Repeat(close, n)
}

// chain is x, then n times op followed by x.
func chain(n int, x, op string) string {
	return x + strings.Repeat(op+x, n)
}

// TestCheckSourceRefuses covers the shapes that make the HCL parser (or
// evaluation after it) recurse without bound. Each would end the test
// binary with "fatal error: stack overflow" if it reached the parser.
func TestCheckSourceRefuses(t *testing.T) {
	const n = 100000
	for _, tc := range []struct {
		name, src string
		kind      SourceKind
		summary   string
		line      int
	}{
		{"parentheses", "pipeline \"p\" {}\nlocals {\n  a = " + deep(n, "(", "1", ")") + "\n}\n", ConfigSource, "Nesting too deep", 3},
		{"brackets", "a = " + deep(n, "[", "1", "]"), ConfigSource, "Nesting too deep", 1},
		{"objects", "a = " + deep(n, "{a = ", "1", "}"), ConfigSource, "Nesting too deep", 1},
		{"blocks", deep(n, "b {\n", "", "}\n"), ConfigSource, "Nesting too deep", 257},
		{"calls", "a = " + deep(n, "f(", "1", ")"), ConfigSource, "Nesting too deep", 1},
		{"strings", "a = " + deep(n, `"${`, "1", `}"`), ConfigSource, "Nesting too deep", 1},
		{"heredocs", "a = " + deep(300, "<<E\n${", "1", "}\nE\n"), ConfigSource, "Nesting too deep", 129},
		{"not", "a = " + strings.Repeat("!", n) + "true", ConfigSource, "Expression too complex", 1},
		{"minus", "a = " + strings.Repeat("-", n) + "1", ConfigSource, "Expression too complex", 1},
		{"conditional", "a = " + chain(n, "x ? 1 : x", " ? 1 : "), ConfigSource, "Expression too complex", 1},
		{"sum", "a = " + chain(n, "1", "+"), ConfigSource, "Expression too complex", 1},
		{"sum over lines in parentheses", "a = (" + chain(n, "1", "\n+"), ConfigSource, "Expression too complex", 1024},
		{"index", "a = x" + strings.Repeat("[x]", n), ConfigSource, "Expression too complex", 1},
		{"unterminated comment is code", "a = /*" + deep(n, "(", "1", ")"), ConfigSource, "Nesting too deep", 1},
		{"expression", deep(n, "(", "1", ")"), ExpressionSource, "Nesting too deep", 1},
		{"template interpolations", deep(n, "${", "1", "}"), TemplateSource, "Nesting too deep", 1},
		{"template directives", deep(n, "%{ if true }", "x", "%{ endif }"), TemplateSource, "Nesting too deep", 1},
		{"template directives with strip markers", deep(n, "%{~for x in y~}", "x", "%{~endfor~}"), TemplateSource, "Nesting too deep", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := CheckSource([]byte(tc.src), "p.hcl", tc.kind)
			if d == nil {
				t.Fatal("accepted")
			}
			if d.Summary != tc.summary || d.Subject == nil || d.Subject.Filename != "p.hcl" || d.Subject.Start.Line != tc.line {
				t.Errorf("got %s at %v; want %q on line %d", d.Summary, d.Subject, tc.summary, tc.line)
			}
			if !strings.Contains(d.Detail, "p.hcl") {
				t.Errorf("detail does not name the file: %s", d.Detail)
			}
		})
	}
}

// TestCheckSourceAccepts: what only looks deep — in a string, a comment or
// a heredoc — and ordinary sources pass, so the parser reports their own
// errors.
func TestCheckSourceAccepts(t *testing.T) {
	parens := strings.Repeat("(", 1000)
	for _, tc := range []struct {
		name, src string
		kind      SourceKind
	}{
		{"in a string", `a = "` + parens + `"`, ConfigSource},
		{"escaped quotes", `a = "\"` + parens + `\""`, ConfigSource},
		{"literal interpolation", `a = "$${` + parens + `"`, ConfigSource},
		{"in a comment", "# " + parens + "\n// " + parens + "\n/* " + parens + " */\na = 1", ConfigSource},
		{"in a heredoc", "a = <<EOT\n" + parens + "\n  EOT\nb = 1\n", ConfigSource},
		{"in a heredoc after an interpolation", "a = <<-EOT\n  ${x}\n  " + parens + "\n  EOT\n", ConfigSource},
		{"heredoc marker only at the start of a line", "a = <<A\n${<<B\nx\nB\n}A\n" + parens + "\nA\n", ConfigSource},
		{"in a template", parens + "%%{ if" + parens, TemplateSource},
		{"identifiers with dashes", "a = " + strings.Repeat("a-", 2000) + "b", ConfigSource},
		{"long lists", "a = [" + chain(100000, "1", ",") + "]", ConfigSource},
		{"many lines", strings.Repeat("a = 1 + 2 + 3\n", 10000), ConfigSource},
		{"long conditions over lines", "a = (" + chain(200, "x", "\n&& ") + ")", ConfigSource},
		{"unbalanced closes", strings.Repeat(")]}", 1000), ConfigSource},
		{"byte order mark", "\xef\xbb\xbfa = 1", ConfigSource},
		{"unicode", "a = \"héllo ✓\" # ok\nb = <<Ü\nx\nÜ\n", ConfigSource},
		{"deep but within bounds", "a = " + deep(MaxNesting-1, "(", "1", ")"), ConfigSource},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := CheckSource([]byte(tc.src), "p.hcl", tc.kind); d != nil {
				t.Fatalf("refused: %s: %s at %v", d.Summary, d.Detail, d.Subject)
			}
		})
	}
	// Every pipeline and example of the repository.
	files, _ := filepath.Glob("../../pipelines/*/*.hcl")
	more, _ := filepath.Glob("../../examples/*/*.hcl")
	tmpls, _ := filepath.Glob("../../pipelines/*/*.tpl")
	if len(files) == 0 || len(tmpls) == 0 {
		t.Fatal("no pipelines found")
	}
	for _, f := range append(append(files, more...), tmpls...) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		kind := ConfigSource
		if strings.HasSuffix(f, ".tpl") {
			kind = TemplateSource
		}
		if d := CheckSource(src, f, kind); d != nil {
			t.Errorf("%s: %s", f, d.Detail)
		}
	}
}

// TestCheckSourceNotText: a binary file is one diagnostic naming the first
// bad byte, not one per byte.
func TestCheckSourceNotText(t *testing.T) {
	for _, tc := range []struct {
		src, want string
		line, col int
	}{
		{"a = 1\nb = \x00\x00\x00", "byte 11 is a NUL (0x00)", 2, 5},
		{"a = \"é\xff\xfe\"", "byte 8 is 0xff, which is not UTF-8", 1, 7},
		{"\x7fELF\x02\x01\x01\x00", "byte 8 is a NUL", 1, 8},
	} {
		d := CheckSource([]byte(tc.src), "p.hcl", ConfigSource)
		if d == nil {
			t.Errorf("%q accepted", tc.src)
			continue
		}
		if !strings.Contains(d.Detail, "p.hcl is not a text file: "+tc.want) || d.Subject.Start.Line != tc.line || d.Subject.Start.Column != tc.col {
			t.Errorf("%q: %s at %d:%d; want %q at %d:%d", tc.src, d.Detail, d.Subject.Start.Line, d.Subject.Start.Column, tc.want, tc.line, tc.col)
		}
	}
}

func writePipeline(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoadHostileFiles: through Load, each hostile file is exactly one
// error, and the other files of the directory are still checked.
func TestLoadHostileFiles(t *testing.T) {
	good := "pipeline \"p\" {}\nstage \"a\" {\n  exec { command = [\"true\"] }\n}\n"
	for name, src := range map[string]string{
		"nested":  "locals {\n  x = " + deep(100000, "(", "1", ")") + "\n}\n",
		"binary":  "\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00\xff", 5000),
		"huge":    strings.Repeat("# padding\n", MaxFileSize/10+1),
		"bad utf": "locals {\n  x = \"\xc3\x28\"\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writePipeline(t, map[string]string{"a.hcl": good, "b.hcl": src})
			_, diags := Load(dir, testRegistry())
			if len(diags) != 1 || !diags.HasErrors() {
				t.Fatalf("got %d diagnostics, want 1: %v", len(diags), diags)
			}
			d := diags[0]
			if d.Subject == nil || filepath.Base(d.Subject.Filename) != "b.hcl" {
				t.Errorf("subject %v; want b.hcl", d.Subject)
			}
			for _, b := range []byte(d.Summary + d.Detail) {
				if b == 0 || b >= 0x80 && name == "binary" {
					t.Errorf("the diagnostic echoes raw bytes: %q", d.Detail)
					break
				}
			}
		})
	}
	t.Run("a single file", func(t *testing.T) {
		dir := writePipeline(t, map[string]string{"p.hcl": good + "locals {\n x = " + deep(100000, "[", "1", "]") + "\n}\n"})
		_, diags := Load(filepath.Join(dir, "p.hcl"), testRegistry())
		if len(diags) != 1 || diags[0].Summary != "Nesting too deep" || diags[0].Subject.Start.Line != 6 {
			t.Fatalf("got %v", diags)
		}
	})
}

// TestDependsOnIndex: depends_on = [stage["x"]] and [stage[0]] are errors
// on the element, not a panic.
func TestDependsOnIndex(t *testing.T) {
	for _, tc := range []struct{ dep, want string }{
		{`stage["a"]`, "Write stage.a."},
		{`stage[0]`, "written as stage.NAME,"},
		{`stage["not a name"]`, "written as stage.NAME,"},
		{`stage.a.output`, "written as stage.NAME,"},
	} {
		src := "pipeline \"p\" {}\nstage \"a\" {\n  exec { command = [\"true\"] }\n}\nstage \"b\" {\n  depends_on = [" + tc.dep + "]\n  exec { command = [\"true\"] }\n}\n"
		dir := writePipeline(t, map[string]string{"p.hcl": src})
		_, diags := Load(dir, testRegistry())
		if len(diags) != 1 || diags[0].Summary != "Invalid depends_on" || !strings.Contains(diags[0].Detail, tc.want) {
			t.Errorf("%s: got %v; want one Invalid depends_on saying %q", tc.dep, diags, tc.want)
			continue
		}
		rng := diags[0].Subject
		if rng == nil || rng.Start.Line != 6 || rng.Start.Column != 17 || rng.End.Column != 17+len(tc.dep) {
			t.Errorf("%s: range %v; want line 6, columns 17-%d", tc.dep, rng, 17+len(tc.dep))
		}
	}
}

// TestCheckedSourcesParse: a source at the bound parses and evaluates
// without trouble, so the bound is about safety, not about what HCL can do.
func TestCheckedSourcesParse(t *testing.T) {
	src := []byte(deep(MaxNesting-1, "(", "1", ")") + "+" + chain(maxComplexity/2, "1", "+"))
	if d := CheckSource(src, "e.hcl", ExpressionSource); d != nil {
		t.Fatal(d)
	}
	e, diags := hclsyntax.ParseExpression(src, "e.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || v.AsBigFloat().String() != "514" {
		t.Fatalf("got %#v, %v", v, diags)
	}
}

func TestDiagnosticsAreCappedPerFile(t *testing.T) {
	var diags hcl.Diagnostics
	for i := 0; i < 25; i++ {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "bad", Subject: &hcl.Range{Filename: "junk.hcl"}})
	}
	diags = append(diags,
		&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "other", Subject: &hcl.Range{Filename: "ok.hcl"}},
		&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "no file"})
	got, left := capPerFile(diags, 10, map[string]bool{"junk.hcl": true})
	if left != 15 {
		t.Errorf("left = %d, want 15", left)
	}
	if len(got) != 13 {
		t.Fatalf("%d diagnostics, want 10 of junk.hcl, ok.hcl's, the one without a file and one summary: %v", len(got), got)
	}
	last := got[len(got)-1]
	if last.Summary != "Too many errors" || !strings.Contains(last.Detail, "junk.hcl has 15 more errors") {
		t.Errorf("summary: %s: %s", last.Summary, last.Detail)
	}
}

// TestListSizesWhatLoadReads: the size a command paces the collector by is
// that of the files Load parses, hidden and other files not counted.
func TestListSizesWhatLoadReads(t *testing.T) {
	a := "pipeline \"p\" {}\n"
	b := "stage \"a\" {\n  exec { command = [\"true\"] }\n}\n"
	dir := writePipeline(t, map[string]string{"a.hcl": a, "b.hcl": b, ".c.hcl": "junk {", "notes.txt": "junk"})
	l := List(dir)
	if got, want := l.Size(), int64(len(a)+len(b)); got != want {
		t.Errorf("Size = %d; want %d", got, want)
	}
	if cfg, diags := l.Load(testRegistry()); diags.HasErrors() || cfg.Stages["a"] == nil {
		t.Errorf("Load: %v", diags)
	}
	missing := List(filepath.Join(dir, "none"))
	if missing.Size() != 0 {
		t.Errorf("Size of a missing path = %d; want 0", missing.Size())
	}
	if cfg, diags := missing.Load(testRegistry()); cfg != nil || len(diags) != 1 || diags[0].Summary != "Cannot read pipeline" {
		t.Errorf("Load of a missing path: %v, %v", cfg, diags)
	}
}
