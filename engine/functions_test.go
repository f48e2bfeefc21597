package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/engine/config"
)

func TestListFunctions(t *testing.T) {
	ctx := &hcl.EvalContext{
		Functions: functions(t.TempDir()),
		Variables: map[string]cty.Value{"later": cty.UnknownVal(cty.Bool)},
	}
	for _, tc := range []struct {
		expr string
		want cty.Value
		err  string
	}{
		{`alltrue([true, true])`, cty.True, ""},
		{`alltrue([true, false])`, cty.False, ""},
		{`alltrue([])`, cty.True, ""},
		{`alltrue([later, false])`, cty.False, ""},
		{`alltrue([later, true])`, cty.UnknownVal(cty.Bool), ""},
		{`anytrue([false, true])`, cty.True, ""},
		{`anytrue([false])`, cty.False, ""},
		{`anytrue([])`, cty.False, ""},
		{`anytrue([later, true])`, cty.True, ""},
		{`anytrue(["true", "false"])`, cty.True, ""},
		{`alltrue([null])`, cty.NilVal, "null"},
		{`alltrue(["x"])`, cty.NilVal, "bool"},
		{`sum([1, 2, 3.5])`, cty.NumberFloatVal(6.5), ""},
		{`length("héllo")`, cty.NumberIntVal(5), ""},
		{`length([1, 2])`, cty.NumberIntVal(2), ""},
		{`length({a = 1})`, cty.NumberIntVal(1), ""},
		{`sum([])`, cty.Zero, ""},
		{`sum(["a"])`, cty.NilVal, "number"},
	} {
		expr, diags := hclsyntax.ParseExpression([]byte(tc.expr), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		got, diags := expr.Value(ctx)
		if tc.err != "" {
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.err) {
				t.Errorf("%s: got %#v, %v; want an error about %s", tc.expr, got, diags, tc.err)
			}
			continue
		}
		if diags.HasErrors() {
			t.Errorf("%s: %v", tc.expr, diags)
			continue
		}
		if !got.RawEquals(tc.want) {
			t.Errorf("%s = %#v; want %#v", tc.expr, got, tc.want)
		}
	}
}

// evalIn evaluates src with the functions of a pipeline in dir.
func evalIn(t *testing.T, dir, src string, vars map[string]cty.Value) (cty.Value, hcl.Diagnostics) {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "p.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return expr.Value(&hcl.EvalContext{Functions: functions(dir), Variables: vars})
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFileConfined: file() and templatefile() read the pipeline directory
// and nothing else, whatever the path or link.
func TestFileConfined(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret": "hunter2"})
	dir := filepath.Join(t.TempDir(), "pipeline")
	writeFiles(t, dir, map[string]string{"ok.txt": "fine", "sub/t.tmpl": "v=${v}"})
	must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "leak")))
	must(t, os.Symlink(outside, filepath.Join(dir, "out")))
	must(t, os.Symlink("ok.txt", filepath.Join(dir, "alias")))
	must(t, os.WriteFile(filepath.Join(dir, "big"), make([]byte, config.MaxFileSize+1), 0o644))
	// The pipeline directory itself may be reached through a link.
	linked := filepath.Join(t.TempDir(), "linked")
	must(t, os.Symlink(dir, linked))

	for _, tc := range []struct {
		dir, expr, want string
		err             []string
	}{
		{dir, `file("ok.txt")`, "fine", nil},
		{dir, `file("sub/../ok.txt")`, "fine", nil},
		{dir, `file("alias")`, "fine", nil},
		{linked, `file("alias")`, "fine", nil},
		{dir, `templatefile("sub/t.tmpl", {v = 1})`, "v=1", nil},
		{dir, `file("../x")`, "", []string{"file: ../x leads outside the pipeline directory " + dir}},
		{dir, `file("sub/../../pipeline/ok.txt")`, "", []string{"leads outside the pipeline directory"}},
		{dir, `templatefile("../x.tmpl", {})`, "", []string{"templatefile: ../x.tmpl leads outside the pipeline directory " + dir}},
		{dir, `file("` + filepath.Join(outside, "secret") + `")`, "", []string{"is an absolute path", "pipeline directory " + dir}},
		{dir, `file("leak")`, "", []string{"file: leak is a symbolic link to " + filepath.Join(outside, "secret"), "outside the pipeline directory " + dir}},
		{dir, `file("out/secret")`, "", []string{"file: out/secret is a symbolic link", "outside the pipeline directory"}},
		{dir, `file("sub")`, "", []string{"file: sub is not a regular file"}},
		{dir, `file("big")`, "", []string{"file: big is larger than 4 MiB"}},
		{dir, `file("")`, "", []string{"file: the path is empty"}},
		{dir, `file("missing")`, "", []string{"cannot read " + filepath.Join(dir, "missing") + ": no such file"}},
	} {
		got, diags := evalIn(t, tc.dir, tc.expr, nil)
		if tc.err == nil {
			if diags.HasErrors() || got.AsString() != tc.want {
				t.Errorf("%s = %#v, %v; want %q", tc.expr, got, diags, tc.want)
			}
			continue
		}
		if !diags.HasErrors() {
			t.Errorf("%s = %#v; want an error", tc.expr, got)
			continue
		}
		for _, w := range tc.err {
			if !strings.Contains(diags.Error(), w) {
				t.Errorf("%s: %v\nwant it to say %q", tc.expr, diags, w)
			}
		}
		if strings.Contains(diags.Error(), "hunter2") {
			t.Errorf("%s: the error shows the file: %v", tc.expr, diags)
		}
	}
}

// TestTemplatefileRecursion: a template that includes itself, directly or
// through others, is one error naming the chain, not a stack overflow.
func TestTemplatefileRecursion(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"self.tmpl":   `${templatefile("self.tmpl", {})}`,
		"a.tmpl":      `a ${templatefile("b.tmpl", {n = n})}`,
		"b.tmpl":      `b %{ if n > 0 }${templatefile("a.tmpl", {n = n - 1})}%{ endif }`,
		"outer.tmpl":  `[${templatefile("leaf.tmpl", {x = x})}|${templatefile("leaf.tmpl", {x = x})}]`,
		"leaf.tmpl":   `${x}`,
		"number.tmpl": `${1 + 1}`,
		"deep.tmpl":   deepParens(100000),
		"broken.tmpl": `${templatefile("deep.tmpl", {})}`,
	}
	for i := 0; i < 20; i++ {
		files[fmt.Sprintf("c%d.tmpl", i)] = fmt.Sprintf(`${templatefile("c%d.tmpl", {})}`, i+1)
	}
	files["c20.tmpl"] = "end"
	writeFiles(t, dir, files)
	must(t, os.Symlink("a.tmpl", filepath.Join(dir, "alias.tmpl")))

	unknown := map[string]cty.Value{"later": cty.UnknownVal(cty.Number)}
	for _, tc := range []struct {
		expr string
		vars map[string]cty.Value
		want string // the error, whole; "" for no error
	}{
		{`templatefile("self.tmpl", {})`, nil, "templatefile: recursion: self.tmpl → self.tmpl"},
		{`templatefile("a.tmpl", {n = 1})`, nil, "templatefile: recursion: a.tmpl → b.tmpl → a.tmpl"},
		// Through another name for the same file.
		{`templatefile("alias.tmpl", {n = 1})`, nil, "templatefile: recursion: alias.tmpl → b.tmpl → a.tmpl"},
		// Found by validate too, while the vars are not known yet (unless
		// the call sits behind a condition that is not known either).
		{`templatefile("self.tmpl", {n = later})`, unknown, "templatefile: recursion: self.tmpl → self.tmpl"},
		{`templatefile("c0.tmpl", {})`, nil, "templatefile: templates include one another more than 16 deep: c0.tmpl → c1.tmpl"},
		{`templatefile("broken.tmpl", {})`, nil, "deep.tmpl:1,258-258: Brackets, braces, parentheses"},
	} {
		_, diags := evalIn(t, dir, tc.expr, tc.vars)
		if !diags.HasErrors() {
			t.Errorf("%s: no error", tc.expr)
			continue
		}
		msg := diags[0].Detail
		if len(diags) != 1 || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %v\nwant %q", tc.expr, diags, tc.want)
		}
		if strings.HasPrefix(tc.want, "templatefile:") && strings.Count(msg, "templatefile") > 2 {
			t.Errorf("%s: the error is wrapped once per level: %s", tc.expr, msg)
		}
	}

	// The same template twice, side by side, is not recursion.
	got, diags := evalIn(t, dir, `templatefile("outer.tmpl", {x = "y"})`, nil)
	if diags.HasErrors() || got.AsString() != "[y|y]" {
		t.Errorf("outer.tmpl = %#v, %v", got, diags)
	}
	got, diags = evalIn(t, dir, `templatefile("number.tmpl", {})`, nil)
	if diags.HasErrors() || got.AsString() != "2" {
		t.Errorf("number.tmpl = %#v, %v; want \"2\"", got, diags)
	}
	got, diags = evalIn(t, dir, `templatefile("leaf.tmpl", {x = later})`, unknown)
	if diags.HasErrors() || got.IsKnown() {
		t.Errorf("leaf.tmpl with an unknown var = %#v, %v; want unknown", got, diags)
	}
}

func deepParens(n int) string {
	return "${" + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + "}"
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
