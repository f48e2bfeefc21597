package engine

import (
	"strings"
	"testing"
)

// The undo a message suggests for a run with targets gives again, with
// -var, the values that say where the targets' journals are (read by a
// target's context or namespace, or the pipeline's, through locals too):
// not the others (the journal has them), not a default, never a
// sensitive one.
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
	want := "cutover undo r1 " + p.Config.Dir + ` -var 'contexts={"a" = "c1", "b-1" = "it'\''s"}' -var 'space=my shop' -n ns1`
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
