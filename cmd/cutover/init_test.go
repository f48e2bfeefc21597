package main

import (
	"bytes"
	"strings"
	"testing"
)

// Every ready pipeline that init writes loads and validates where it is
// written (its templatefile() paths are relative to it).
func TestInitTemplatesValidate(t *testing.T) {
	all, err := templates()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 10 {
		t.Fatalf("%d templates embedded, want the ten of pipelines/", len(all))
	}
	for _, tpl := range all {
		t.Run(tpl.Name, func(t *testing.T) {
			dir := t.TempDir()
			var out, errs bytes.Buffer
			c := &cli{stdout: &out, stderr: &errs, getenv: func(string) string { return "" }}
			if code := c.main([]string{"init", "--template", tpl.Name, dir}); code != exitOK {
				t.Fatalf("init exit %d: %s", code, errs.String())
			}
			if code := c.main([]string{"validate", dir}); code != exitOK {
				t.Fatalf("validate exit %d: %s", code, errs.String())
			}
			if !strings.Contains(out.String(), "pipeline \""+tpl.Name+"\" is valid") {
				t.Errorf("validate said:\n%s", out.String())
			}
			if tpl.Description == "" {
				t.Errorf("no description for init --list")
			}
		})
	}
}
