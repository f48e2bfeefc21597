package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/cutoverhq/cutover/engine/config"
)

// A pipeline's manifests are often templates (NAME.yaml.tpl) that the
// pipeline renders with templatefile() and its variables: linted as they
// stand, `replicas: ${replicas}` reads as "replicas unset", a finding about
// text nobody applies. lint refuses them and says where their rendering is
// linted: the pipeline's lint stage, and plan --show-manifests shows it.

// templateSyntax is an interpolation or directive of templatefile().
var templateSyntax = regexp.MustCompile(`\$\{|%\{`)

// isTemplate is whether the file named is a template a pipeline renders:
// a .tpl file with template syntax in it.
func isTemplate(path string) bool {
	if filepath.Ext(path) != ".tpl" {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && templateSyntax.Match(b)
}

// renderedAdvice says how to lint what a pipeline in dir renders from its
// templates (what: "it" or "they"): its lint stage does (named when it has
// one), and plan --show-manifests, with the variables it needs, shows it.
func renderedAdvice(dir, what string) string {
	cfg, _ := config.Load(dir, nil)
	if cfg == nil || cfg.Pipeline == nil {
		return "lint the manifests a pipeline renders from " + map[string]string{"it": "it", "they": "them"}[what]
	}
	var lints []string
	for _, name := range cfg.StageOrder {
		if st := cfg.Stages[name]; st.Step != nil && st.Step.Kind != nil && st.Step.Kind.Name() == "lint" {
			lints = append(lints, name)
		}
	}
	var vars []string
	for _, name := range requiredVariables(dir) {
		vars = append(vars, " -var "+name+"=…")
	}
	see := fmt.Sprintf("to see it: cutover plan %s --show-manifests%s", dir, strings.Join(vars, ""))
	if len(lints) == 0 {
		return fmt.Sprintf("pipeline %q renders %s with its variables; a lint stage in it would lint what %s render%s before anything is deployed; %s",
			cfg.Pipeline.Name, map[string]string{"it": "it", "they": "them"}[what], what, map[string]string{"it": "s", "they": ""}[what], see)
	}
	return fmt.Sprintf("pipeline %q renders %s with its variables, and its lint stage (%s) lints what %s render%s before anything is deployed; %s",
		cfg.Pipeline.Name, map[string]string{"it": "it", "they": "them"}[what], strings.Join(lints, ", "), what, map[string]string{"it": "s", "they": ""}[what], see)
}

// pipelineDirNote explains a directory with no manifests to lint that
// holds a pipeline's templates; "" when it holds none.
func pipelineDirNote(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var tpls []string
	for _, e := range entries {
		if !e.IsDir() && isTemplate(filepath.Join(dir, e.Name())) {
			tpls = append(tpls, e.Name())
		}
	}
	if len(tpls) == 0 {
		return ""
	}
	sort.Strings(tpls)
	return fmt.Sprintf("its templates (%s) are not manifests: %s", strings.Join(tpls, ", "), renderedAdvice(dir, "they"))
}
