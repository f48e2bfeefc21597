package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/internal/textdiff"
	"github.com/cutoverhq/cutover/internal/words"
)

// cmdFmt formats .hcl files in place; -check only names those that are not
// formatted (exit exitFindings), -diff shows the change as a unified diff.
// A directory is walked into its subdirectories (a repository keeps one
// pipeline per directory under pipelines/) unless -recursive=false.
func cmdFmt(c *cli, args []string) int {
	o, pos, ok := c.parse("fmt", args)
	if !ok {
		return exitInvalid
	}
	if len(pos) == 0 {
		pos = []string{"."}
	}
	return c.format(pos, o)
}

func (c *cli) format(paths []string, o *options) int {
	files, code := filesIn(c, paths, o.recursive, ".hcl")
	if code != exitOK {
		return code
	}
	unformatted, invalid := 0, false
	for _, f := range files {
		src, bad := config.ReadSource(f, "pipeline file")
		if bad == nil {
			bad = config.CheckSource(src, f, config.ConfigSource)
		}
		if bad != nil {
			c.writeDiags(nil, hcl.Diagnostics{bad}, o, f+" is left as it is")
			invalid = true
			continue
		}
		// Refuse to "format" what does not parse: hclwrite would keep the
		// broken tokens and the user would learn nothing.
		if _, diags := hclwrite.ParseConfig(src, f, hcl.InitialPos); diags.HasErrors() {
			c.writeDiags(nil, diags, o, f+" is left as it is")
			invalid = true
			continue
		}
		out := hclwrite.Format(src)
		if bytes.Equal(src, out) {
			continue
		}
		unformatted++
		if o.diff {
			fmt.Fprint(c.stdout, textdiff.Unified(f, f+" (formatted)", src, out)) // its header names the file
		} else {
			fmt.Fprintln(c.stdout, f)
		}
		if o.check {
			continue
		}
		if err := os.WriteFile(f, out, 0o644); err != nil {
			c.errorf("%v", err)
			return exitInvalid
		}
	}
	if invalid {
		return exitInvalid
	}
	if o.check && unformatted > 0 {
		fmt.Fprintf(c.stderr, "%s not formatted: run cutover fmt %s\n", words.Count(unformatted, "file"), strings.Join(paths, " "))
		return exitFindings
	}
	return exitOK
}

// filesIn lists the files named, and those ending in one of exts in the
// directories named, in their subdirectories too when recursive; hidden
// directories (.git, .terraform) are not entered.
func filesIn(c *cli, paths []string, recursive bool, exts ...string) ([]string, int) {
	return walkFiles(c, paths, recursive, nil, exts...)
}

// walkFiles is filesIn with claim: a directory (or a file named) for which
// claim returns true is taken whole by the caller, neither listed nor
// entered (lint renders a chart's or an overlay's directory).
func walkFiles(c *cli, paths []string, recursive bool, claim func(string) bool, exts ...string) ([]string, int) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			c.errorf("%v", err)
			return nil, exitInvalid
		}
		if claim != nil && claim(p) {
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && (!recursive || strings.HasPrefix(d.Name(), ".") || claim != nil && claim(path)) {
				return filepath.SkipDir
			}
			if !d.IsDir() && slices.Contains(exts, filepath.Ext(path)) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			c.errorf("%v", err)
			return nil, exitInvalid
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, exitOK
}
