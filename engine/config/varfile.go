package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// varFileHints explains the "Unsupported argument" errors of a variables
// file kept beside the pipeline (prod.hcl for -var-file prod.hcl): a file
// of NAME = VALUE lines only, each NAME a declared variable or close to
// one, is read as pipeline source like every .hcl file of the directory.
// One hint per such file, shown after the errors; the file is listed in
// c.varFiles, whose lines are not echoed (a variables file may hold secrets).
func (c *Config) varFileHints(diags hcl.Diagnostics) hcl.Diagnostics {
	unsupported := map[string]bool{}
	for _, d := range diags {
		if d.Summary == "Unsupported argument" && d.Subject != nil {
			unsupported[d.Subject.Filename] = true
		}
	}
	var hints hcl.Diagnostics
	parsed := c.Parser.Files()
	for _, name := range c.Files {
		f := parsed[name]
		if f == nil {
			continue
		}
		body, ok := f.Body.(*hclsyntax.Body)
		if !ok || !unsupported[name] || len(body.Blocks) > 0 || len(body.Attributes) == 0 || !c.namesVariables(body) {
			continue
		}
		c.varFiles = append(c.varFiles, name)
		base := filepath.Base(name)
		stem := strings.TrimSuffix(base, ".hcl")
		hints = append(hints, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  base + " looks like a variables file",
			Detail: fmt.Sprintf("%s holds only NAME = VALUE lines for variables the pipeline declares (its lines are not shown: such a file may hold secrets), but every .hcl file in %s is pipeline source. "+
				"Keep -var-file files out of the pipeline's directory, or give this one another extension: -var-file %s.tfvars is read as HCL, -var-file %s.json as JSON ({\"NAME\": VALUE}).",
				name, c.Dir, stem, stem),
			Extra: Hint{},
		})
	}
	return hints
}

// namesVariables reports whether every attribute of body names a declared
// variable, or nearly (a typo, as -var-file would suggest a fix for).
func (c *Config) namesVariables(body *hclsyntax.Body) bool {
	for name := range body.Attributes {
		if _, ok := c.Variables[name]; !ok && Suggest(name, c.VariableOrder) == "" {
			return false
		}
	}
	return true
}

// VariableFiles are the pipeline files that look like variables files
// (varFileHints): their lines are never echoed under a diagnostic.
func (c *Config) VariableFiles() []string {
	if c == nil {
		return nil
	}
	return c.varFiles
}
