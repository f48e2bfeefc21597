package engine

import (
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/internal/words"
)

// The undo a message suggests for a run with targets gives again, with
// -var, the values that say where the targets' journals are (read by a
// target's context or namespace, or the pipeline's, through locals too):
// not the others (the journal has them), not a default, never a
// sensitive one (a comment at the end names it).
func TestUndoCommandGivesWhereVars(t *testing.T) {
	src := `
pipeline "p" { namespace = local.ns }
variable "contexts" {
  type    = map(string)
  default = { a = "x", "b-1" = "y" }
}
variable "space" { default = "shop" }
variable "version" { default = "v1" }
variable "kc" {
  default   = "k"
  sensitive = true
}
locals { ns = "${var.space}-prod" }
target "a" { context = var.contexts["a"] }
target "b-1" {
  context    = var.contexts["b-1"]
  kubeconfig = var.kc
}
stage "s" {
  step { value = var.version }
}
`
	l := newLog()
	p, diags := load(t, l, map[string]string{"p.hcl": src}, Inputs{Vars: []string{
		`contexts={a="c1", "b-1"="it's"}`, "space=my shop", "version=v2", "kc=secret"}})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	got := p.undoCommand("r1", "ns1", "")
	want := "cutover undo r1 " + p.Config.Dir + ` -var 'contexts={"a" = "c1", "b-1" = "it'\''s"}' -var 'space=my shop' -n ns1 # and -var kc=…: sensitive, not printed`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if strings.Contains(got, "secret") || strings.Contains(got, "version") {
		t.Fatalf("gave more than where: %s", got)
	}
	// Defaults are not given again.
	p, diags = load(t, l, map[string]string{"p.hcl": src}, Inputs{})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	if got := p.undoCommand("r1", "", "a"); got != "cutover undo r1 "+p.Config.Dir+" --target a" {
		t.Fatalf("with defaults: %s", got)
	}
}

// Every command a message suggests is built the same way: the verb and
// its arguments, the pipeline's directory (quoted when it needs it),
// --target, the values that say where, -n; a sensitive value that says
// where is named in a comment at the end, never printed; a pipeline
// without targets gives no -var; a nil Program names the directory PATH.
func TestCommandCases(t *testing.T) {
	src := `
pipeline "p" {}
variable "contexts" {
  type    = map(string)
  default = { eu = "x" }
}
variable "kc" {
  default   = "k"
  sensitive = true
}
target "eu" {
  context    = var.contexts["eu"]
  kubeconfig = var.kc
}
stage "s" {
  step { value = "v" }
}
`
	l := newLog()
	p, diags := load(t, l, map[string]string{"p.hcl": src}, Inputs{Vars: []string{`contexts={eu="c1"}`, "kc=s3cret"}})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	dir := words.Shell(p.Config.Dir)
	where := ` -var 'contexts={"eu" = "c1"}'`
	for _, tc := range []struct {
		got, want string
	}{
		{p.Command("run", []string{"--resume", "r1"}, "eu", ""),
			"cutover run --resume r1 " + dir + " --target eu" + where + " # and -var kc=…: sensitive, not printed"},
		{p.Command("approve", []string{"r1", `gate["eu"]`}, "eu", "shop"),
			"cutover approve r1 'gate[\"eu\"]' " + dir + " --target eu" + where + " -n shop # and -var kc=…: sensitive, not printed"},
		{(*Program)(nil).Command("approve", []string{"r1", "gate"}, "eu", "shop"),
			"cutover approve r1 gate PATH --target eu -n shop"},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %s\nwant %s", tc.got, tc.want)
		}
		if strings.Contains(tc.got, "s3cret") {
			t.Errorf("printed a sensitive value: %s", tc.got)
		}
	}
	// The sensitive value at its default: nothing to give, nothing said.
	p, diags = load(t, l, map[string]string{"p.hcl": src}, Inputs{Vars: []string{`contexts={eu="c1"}`}})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	if got, want := p.Command("status", []string{"r1"}, "", ""), "cutover status r1 "+words.Shell(p.Config.Dir)+where; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Without targets the directory is where: no -var.
	p, diags = load(t, l, map[string]string{"p.hcl": "variable \"ns\" { default = \"a\" }\npipeline \"p\" { namespace = var.ns }\nstage \"s\" {\n  step { value = \"v\" }\n}\n"}, Inputs{Vars: []string{"ns=b"}})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	if got, want := p.Command("undo", []string{"r1"}, "", "b"), "cutover undo r1 "+words.Shell(p.Config.Dir)+" -n b"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
