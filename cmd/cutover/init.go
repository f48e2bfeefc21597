package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/pipelines"
)

// defaultTemplate is what `cutover init` writes without --template: the
// procedure README's example comes from.
const defaultTemplate = "blue-green-service"

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
		if len(pos) > 0 {
			c.errorf("init --list writes nothing and takes no DIR, got %q", pos)
			return exitInvalid
		}
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
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		c.errorf("%s is a file: init writes a pipeline's files into a directory (DIR)", dir)
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
	shipped := shippedFiles(all)
	stale, changed := leftovers(dir, *t, shipped)
	text := o.output != "json"
	res := initResult{Template: t.Name, Dir: dir, Removed: stale, Left: changed}
	// A file the user edited is copied aside before it is overwritten, all
	// of them before the first write: --force replaces init's files, never
	// loses the user's work.
	for _, f := range exist {
		kept, err := keepEdited(f, shipped[filepath.Base(f)])
		if err != nil {
			c.errorf("%s: cannot keep a copy of your edits: %v; nothing written", f, err)
			return exitInvalid
		}
		if kept != "" {
			res.Kept = append(res.Kept, keptFile{File: f, Copy: kept})
		}
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
		res.Wrote = append(res.Wrote, filepath.Join(dir, f))
		if text {
			fmt.Fprintf(c.stdout, "wrote %s\n", filepath.Join(dir, f))
		}
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			c.errorf("%v", err)
			return exitInvalid
		}
		if text {
			fmt.Fprintf(c.stdout, "removed %s (an earlier init wrote it; %s does not have it)\n", f, t.Name)
		}
	}
	res.Required = requiredVariables(dir)
	if !text {
		_ = json.NewEncoder(c.stdout).Encode(res)
		return exitOK
	}
	for _, k := range res.Kept {
		fmt.Fprintf(c.stdout, "kept your edited %s as %s (--force wrote %s's over it)\n", k.File, k.Copy, t.Name)
	}
	for _, f := range changed {
		fmt.Fprintf(c.stdout, "left %s: a file of another ready pipeline, changed since init wrote it; remove it if %s does not need it\n", f, t.Name)
	}
	var flags []string
	for _, name := range res.Required {
		flags = append(flags, "-var "+name+"=…")
	}
	fmt.Fprintf(c.stdout, "\nNext: cutover validate %s\n      cutover plan %s %s\n", dir, dir, strings.Join(flags, " "))
	return exitOK
}

// initResult is what init -o json prints: the files it wrote and removed,
// those of an earlier init it left (edited since), and the variables a
// plan or run needs a value for.
type initResult struct {
	Template string     `json:"template"`
	Dir      string     `json:"dir"`
	Wrote    []string   `json:"wrote"`
	Removed  []string   `json:"removed,omitempty"`
	Left     []string   `json:"left,omitempty"`
	Kept     []keptFile `json:"kept,omitempty"`
	Required []string   `json:"required_variables,omitempty"`
}

// keptFile is a file --force overwrote that the user had edited, and the
// copy of it init made first.
type keptFile struct {
	File string `json:"file"`
	Copy string `json:"copy"`
}

// shippedFiles maps a file name to its contents in each ready pipeline
// that has it: a file in DIR byte for byte one of them is as init wrote it.
func shippedFiles(all []template) map[string][][]byte {
	shipped := map[string][][]byte{}
	for _, o := range all {
		for _, f := range o.Files {
			if src, err := fs.ReadFile(pipelines.FS, path.Join(o.Name, f)); err == nil {
				shipped[f] = append(shipped[f], src)
			}
		}
	}
	return shipped
}

// keepEdited copies file, when it is not byte for byte one of shipped (an
// init wrote it and nobody changed it since), to the first free name of
// FILE.orig, FILE.orig.1, …, and returns that name ("" when unchanged).
func keepEdited(file string, shipped [][]byte) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	if slices.ContainsFunc(shipped, func(b []byte) bool { return bytes.Equal(b, src) }) {
		return "", nil
	}
	for i := 0; ; i++ {
		name := file + ".orig"
		if i > 0 {
			name += fmt.Sprintf(".%d", i)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(src)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return name, err
	}
}

// leftovers are the files of dir that an earlier init of another ready
// pipeline wrote and t does not have (--force over an older pipeline):
// stale, still as init wrote them (byte for byte a ready pipeline's file of
// that name), are removed; changed, named like one but edited since, are
// the user's work and only named. Any other file is the user's own and not
// looked at.
func leftovers(dir string, t template, shipped map[string][][]byte) (stale, changed []string) {
	ours := map[string]bool{}
	for _, f := range t.Files {
		ours[f] = true
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || ours[name] || shipped[name] == nil {
			continue
		}
		full := filepath.Join(dir, name)
		src, err := os.ReadFile(full)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(shipped[name], func(b []byte) bool { return bytes.Equal(b, src) }) {
			stale = append(stale, full)
		} else {
			changed = append(changed, full)
		}
	}
	return stale, changed
}

// requiredVariables are the variables of the pipeline in dir without a
// default: what plan and run need a value for.
func requiredVariables(dir string) []string {
	cfg, _ := config.Load(dir, nil)
	var required []string
	if cfg != nil {
		for _, name := range cfg.VariableOrder {
			if !cfg.Variables[name].HasDefault {
				required = append(required, name)
			}
		}
	}
	return required
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
