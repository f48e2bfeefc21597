package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

func cmdFmt(c *cli, args []string) int {
	o, pos, ok := c.parse("fmt", args)
	if !ok {
		return exitInvalid
	}
	if len(pos) == 0 {
		pos = []string{"."}
	}
	var files []string
	for _, p := range pos {
		st, err := os.Stat(p)
		if err != nil {
			c.errorf("%v", err)
			return exitInvalid
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		m, _ := filepath.Glob(filepath.Join(p, "*.hcl"))
		files = append(files, m...)
	}
	sort.Strings(files)
	unformatted := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			c.errorf("%v", err)
			return exitInvalid
		}
		// Refuse to "format" what does not parse: hclwrite would keep the
		// broken tokens and the user would learn nothing.
		if _, diags := hclwrite.ParseConfig(src, f, hcl.InitialPos); diags.HasErrors() {
			w := hcl.NewDiagnosticTextWriter(c.stderr, nil, 100, false)
			_ = w.WriteDiagnostics(diags)
			return exitInvalid
		}
		out := hclwrite.Format(src)
		if bytes.Equal(src, out) {
			continue
		}
		unformatted++
		if o.check {
			fmt.Fprintln(c.stdout, f)
			continue
		}
		if err := os.WriteFile(f, out, 0o644); err != nil {
			c.errorf("%v", err)
			return exitInvalid
		}
		fmt.Fprintln(c.stdout, f)
	}
	if o.check && unformatted > 0 {
		fmt.Fprintf(c.stderr, "%d file(s) need formatting: run cutover fmt %s\n", unformatted, strings.Join(pos, " "))
		return exitFailed
	}
	return exitOK
}
