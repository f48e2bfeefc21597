package lint

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

// decode evaluates a step body the way the engine does, through Spec, so
// the schema itself is under test.
func decode(t *testing.T, body string) cty.Value {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(body), "stage.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	v, diags := hcldec.Decode(f.Body, kind{}.Spec(), nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return v
}

// A manifest with one warning (single replica) and, in warnMixed, one
// error as well (no readiness probe on a Service-selected container).
const (
	warnOnly  = "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n"
	warnMixed = "kind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n        - name: web\n          lifecycle: {preStop: {sleep: {seconds: 5}}}\n" +
		"---\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}}\n"
)

func TestKindIsRegistered(t *testing.T) {
	if k, ok := steps.Default.Lookup("lint"); !ok || k.Name() != "lint" {
		t.Fatal("lint is not in the default registry")
	}
}

func TestKindFailOn(t *testing.T) {
	for _, tc := range []struct {
		name, manifest, failOn string
		fails                  bool
		errors, warnings       int64
		listed, notListed      string // a line the error must list, and one it must leave out
	}{
		{"default fails on errors", warnMixed, "", true, 1, 1, `(fail_on = "error"): manifests[0]:9:11: error: `, "warning:"},
		{"default passes warnings", warnOnly, "", false, 0, 1, "", ""},
		{"warning fails on warnings", warnOnly, `fail_on = "warning"`, true, 0, 1, `(fail_on = "warning"): manifests[0]:3:8: warning: `, ""},
		{"never reports only", warnMixed, `fail_on = "never"`, false, 1, 1, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := decode(t, "manifests = ["+quote(tc.manifest)+"]\n"+tc.failOn+"\n")
			if ps := (kind{}).Check(cfg); len(ps) != 0 {
				t.Fatalf("valid config rejected: %+v", ps)
			}
			out, err := kind{}.Run(context.Background(), &steps.Env{Dir: t.TempDir()}, cfg)
			if (err != nil) != tc.fails {
				t.Fatalf("want failure %v, got %v", tc.fails, err)
			}
			if err != nil {
				if steps.IsRetryable(err) {
					t.Error("lint failures must not be retryable: the manifests will not change on their own")
				}
				if !strings.Contains(err.Error(), tc.listed) {
					t.Errorf("error should list %q, got %v", tc.listed, err)
				}
				if tc.notListed != "" && strings.Contains(err.Error(), tc.notListed) {
					t.Errorf("error should list only findings at or above fail_on, got %v", err)
				}
			}
			if !out.Type().Equals(kind{}.Output()) {
				t.Fatalf("output type %#v does not match Output() %#v", out.Type(), kind{}.Output())
			}
			counts := struct {
				Errors   int64 `hcl:"errors"`
				Warnings int64 `hcl:"warnings"`
			}{-1, -1}
			if _, err := steps.Decode(out, &counts); err != nil {
				t.Fatal(err)
			}
			if counts.Errors != tc.errors {
				t.Errorf("errors: want %d, got %d", tc.errors, counts.Errors)
			}
			if counts.Warnings != tc.warnings {
				t.Errorf("warnings: want %d, got %d", tc.warnings, counts.Warnings)
			}
			if n := out.GetAttr("findings").LengthInt(); int64(n) != tc.errors+tc.warnings {
				t.Errorf("findings: want %d, got %d", tc.errors+tc.warnings, n)
			}
		})
	}
}

func TestKindFilesNameFindings(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(warnOnly), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same content given as a manifest (file("app.yaml")) is linted
	// once, under the file's name.
	cfg := decode(t, `files = ["app.yaml"]
manifests = [`+quote(warnOnly)+`]
ignore = ["readiness-probe"]
`)
	out, err := kind{}.Run(context.Background(), &steps.Env{Dir: dir}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fs := out.GetAttr("findings")
	if fs.LengthInt() != 1 {
		t.Fatalf("want the one single-replica finding once, got %#v", fs)
	}
	var f struct {
		File   string `hcl:"file"`
		Line   int    `hcl:"line"`
		Rule   string `hcl:"rule"`
		Object string `hcl:"object"`
	}
	if _, err := steps.Decode(fs.Index(cty.NumberIntVal(0)), &f); err != nil {
		t.Fatal(err)
	}
	if f.File != "app.yaml" || f.Line != 3 || f.Rule != "single-replica" || f.Object != "Deployment/web" {
		t.Fatalf("want app.yaml:3 single-replica on Deployment/web, got %#v", f)
	}

	_, err = kind{}.Run(context.Background(), &steps.Env{Dir: dir}, decode(t, `files = ["nope.yaml"]`))
	if err == nil || !strings.Contains(err.Error(), `"nope.yaml"`) {
		t.Fatalf("want an error naming the missing file, got %v", err)
	}
}

func TestKindIgnore(t *testing.T) {
	cfg := decode(t, "manifests = ["+quote(warnMixed)+"]\nignore = [\"readiness-probe\", \"single-replica\"]\nfail_on = \"warning\"\n")
	out, err := kind{}.Run(context.Background(), &steps.Env{}, cfg)
	if err != nil || out.GetAttr("findings").LengthInt() != 0 {
		t.Fatalf("ignored rules should leave nothing, got %v / %#v", err, out)
	}
}

func TestKindCheck(t *testing.T) {
	problems := func(body string) string {
		var s []string
		for _, p := range (kind{}).Check(decode(t, body)) {
			s = append(s, strings.Join(p.Path, ".")+": "+p.Detail)
		}
		return strings.Join(s, "\n")
	}
	if p := problems(`manifests = ["x"]
fail_on = "warnings"`); !strings.Contains(p, `fail_on: fail_on is "warnings"`) {
		t.Errorf("want a fail_on problem, got %q", p)
	}
	if p := problems(`manifests = ["x"]
ignore = ["single-replicas"]`); !strings.Contains(p, `ignore: ignore names "single-replicas"`) {
		t.Errorf("want an ignore problem, got %q", p)
	}
	if p := problems(`fail_on = "never"`); !strings.Contains(p, "manifests: set manifests") {
		t.Errorf("want a nothing-to-lint problem, got %q", p)
	}
	// Unknown at load time (a stage output): nothing to say yet.
	unknown := cty.ObjectVal(map[string]cty.Value{
		"manifests": cty.UnknownVal(cty.List(cty.String)), "files": cty.NullVal(cty.List(cty.String)),
		"fail_on": cty.UnknownVal(cty.String), "ignore": cty.UnknownVal(cty.List(cty.String)),
	})
	if ps := (kind{}).Check(unknown); len(ps) != 0 {
		t.Errorf("unknown values must be skipped, got %+v", ps)
	}
}

// quote makes an HCL string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "${", "$${", "%{", "%%{")
	return `"` + r.Replace(s) + `"`
}
