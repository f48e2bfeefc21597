package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/notify"
)

func TestNotifyDefaultsAndOn(t *testing.T) {
	dir := t.TempDir()
	src := `pipeline "p" {}
variable "hook" { sensitive = true }
notify "plain" { url = var.hook }
notify "chat" {
  format  = "teams"
  url     = "https://example.com/x"
  on      = ["failed", "started", "failed"]
  timeout = "3s"
}
stage "s" {
  pause {}
}
`
	if err := os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(dir, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(cfg.Notify) != 2 {
		t.Fatalf("%d notify blocks", len(cfg.Notify))
	}
	p, c := cfg.Notify[0], cfg.Notify[1]
	if p.Name != "plain" || p.Format != "webhook" || !slices.Equal(p.On, notify.DefaultOn) || p.Timeout != notify.DefaultTimeout {
		t.Errorf("defaults: %+v", p)
	}
	if c.Format != "teams" || !slices.Equal(c.On, []string{"failed", "started"}) || c.Timeout != 3*time.Second {
		t.Errorf("chat: %+v", c)
	}
}
