package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/pipelines"
)

// defaultTemplate is what `cutover init` writes without --template: the
// procedure README's example comes from.
const defaultTemplate = "blue-green-service"

// template is one ready pipeline of pipelines/.
type template struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Files       []string `json:"files"`
}

// templates lists the embedded pipelines, by name.
func templates() ([]template, error) {
	dirs, err := fs.ReadDir(pipelines.FS, ".")
	if err != nil {
		return nil, err
	}
	var out []template
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		t := template{Name: d.Name()}
		files, err := fs.ReadDir(pipelines.FS, d.Name())
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			t.Files = append(t.Files, f.Name())
		}
		src, _ := fs.ReadFile(pipelines.FS, path.Join(d.Name(), "pipeline.hcl"))
		t.Description = describe(src)
		out = append(out, t)
	}
	return out, nil
}

var (
	descriptionAttr = regexp.MustCompile(`(?m)^\s*description\s*=\s*"(.*)"\s*$`)
	interpolation   = regexp.MustCompile(`\$\{var\.(\w+)\}`)
)

// describe is the pipeline block's description, its variables shown as
// their names in capitals ("Blue/green release of APP by …").
func describe(src []byte) string {
	m := descriptionAttr.FindSubmatch(src)
	if m == nil {
		return ""
	}
	return interpolation.ReplaceAllStringFunc(string(m[1]), func(s string) string {
		return strings.ToUpper(interpolation.FindStringSubmatch(s)[1])
	})
}

func cmdInit(c *cli, args []string) int {
	o, pos, ok := c.parse("init", args)
	if !ok {
		return exitInvalid
	}
	all, err := templates()
	if err != nil {
		c.errorf("%v", err)
		return exitInvalid
	}
	if o.list {
		return c.listTemplates(all, o)
	}
	if len(pos) > 1 {
		c.errorf("expected one DIR, got %d: %v", len(pos), pos)
		return exitInvalid
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	var t *template
	var names []string
	for i := range all {
		names = append(names, all[i].Name)
		if all[i].Name == o.template {
			t = &all[i]
		}
	}
	if t == nil {
		hint := ""
		if s := config.Suggest(o.template, names); s != "" {
			hint = fmt.Sprintf(" Did you mean %q?", s)
		}
		c.errorf("no ready pipeline %q.%s They are: %s", o.template, hint, strings.Join(names, ", "))
		return exitInvalid
	}
	// Nothing is written when one file would be overwritten: a half
	// initialised directory is worse than none.
	var exist []string
	for _, f := range t.Files {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			exist = append(exist, filepath.Join(dir, f))
		} else if !errors.Is(err, fs.ErrNotExist) {
			c.errorf("%v", err)
			return exitInvalid
		}
	}
	if len(exist) > 0 && !o.force {
		c.errorf("%s already exist: nothing written (--force overwrites them)", strings.Join(exist, ", "))
		return exitInvalid
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.errorf("%v", err)
		return exitInvalid
	}
	for _, f := range t.Files {
		src, err := fs.ReadFile(pipelines.FS, path.Join(t.Name, f))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, f), src, 0o644)
		}
		if err != nil {
			c.errorf("%v", err)
			return exitInvalid
		}
		fmt.Fprintf(c.stdout, "wrote %s\n", filepath.Join(dir, f))
	}
	c.nextSteps(dir)
	return exitOK
}

// nextSteps says how to look at the new pipeline, with the variables it
// needs a value for.
func (c *cli) nextSteps(dir string) {
	cfg, _ := config.Load(dir, nil)
	var required []string
	if cfg != nil {
		for _, name := range cfg.VariableOrder {
			if !cfg.Variables[name].HasDefault {
				required = append(required, "-var "+name+"=…")
			}
		}
	}
	fmt.Fprintf(c.stdout, "\nNext: cutover validate %s\n      cutover plan %s %s\n", dir, dir, strings.Join(required, " "))
}

func (c *cli) listTemplates(all []template, o *options) int {
	if o.output == "json" {
		_ = json.NewEncoder(c.stdout).Encode(all)
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	for _, t := range all {
		fmt.Fprintf(tw, "%s\t%s\n", t.Name, t.Description)
	}
	tw.Flush()
	return exitOK
}
