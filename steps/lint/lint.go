package lint

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// Rule describes one check, for `cutover lint --rules` style listings and
// for validating `ignore` lists.
type Rule struct {
	ID       string
	Severity string // the usual severity; readiness-probe drops to warning when no Service selects the pods
	Summary  string
}

type rule struct {
	Rule
	check func(*set) []Finding
}

// rules in the order their documentation lists them.
var rules = []rule{
	{Rule{"parse", SevError, "a document is not valid YAML"}, nil},
	{Rule{"readiness-probe", SevError, "a container has no readinessProbe, so it takes traffic before it can serve"}, checkReadiness},
	{Rule{"prestop-hook", SevWarning, "a Service selects pods without a preStop hook, so they stop while still receiving requests"}, checkPreStop},
	{Rule{"grace-period", SevError, "terminationGracePeriodSeconds is not above the preStop sleep"}, checkGracePeriod},
	{Rule{"max-unavailable", SevError, "a rolling update may take down every replica at once"}, checkMaxUnavailable},
	{Rule{"rolling-update-invalid", SevError, "maxSurge and maxUnavailable are both 0"}, checkRollingInvalid},
	{Rule{"single-replica", SevWarning, "a workload runs a single replica"}, checkSingleReplica},
	{Rule{"selector-matches-many", SevError, "a Service selector matches the pods of several workloads"}, checkSelectors},
}

// Rules lists every rule.
func Rules() []Rule {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = r.Rule
	}
	return out
}

// KnownRule reports whether id names a rule.
func KnownRule(id string) bool {
	for _, r := range rules {
		if r.ID == id {
			return true
		}
	}
	return false
}

// Source is one manifest text and the name findings give it.
type Source struct {
	Name string
	Data []byte
}

// Options tunes a run.
type Options struct {
	Ignore []string // rule ids to leave out
}

// Files lints the files at paths together (a Service in one file is
// matched against workloads in another). Only reading a file fails;
// problems in its content are findings.
func Files(paths []string) ([]Finding, error) {
	srcs, err := Read(paths, nil)
	if err != nil {
		return nil, err
	}
	return Lint(srcs, Options{}), nil
}

// Stdin is the name a path of "-" reads, and findings in it show.
const Stdin = "<stdin>"

// Read reads the files at paths; a path of "-" reads stdin (once).
func Read(paths []string, stdin io.Reader) ([]Source, error) {
	srcs := make([]Source, 0, len(paths))
	for _, p := range paths {
		var b []byte
		var err error
		if p == "-" && stdin != nil {
			b, err = io.ReadAll(stdin)
			p, stdin = Stdin, nil
		} else {
			b, err = os.ReadFile(p)
		}
		if err != nil {
			return nil, fmt.Errorf("lint: %w", err)
		}
		srcs = append(srcs, Source{Name: p, Data: b})
	}
	return srcs, nil
}

// Sources lints manifest texts keyed by the file name findings should show,
// in name order.
func Sources(srcs map[string]string) []Finding {
	names := make([]string, 0, len(srcs))
	for n := range srcs {
		names = append(names, n)
	}
	sort.Strings(names)
	list := make([]Source, len(names))
	for i, n := range names {
		list[i] = Source{Name: n, Data: []byte(srcs[n])}
	}
	return Lint(list, Options{})
}

// Lint runs every rule over the sources, taken as one set of manifests.
// Findings come sorted by source order, line and column.
func Lint(srcs []Source, opt Options) []Finding {
	s := &set{}
	var out []Finding
	order := map[string]int{}
	for i, src := range srcs {
		if _, seen := order[src.Name]; !seen {
			order[src.Name] = i
		}
		objs, fs := parse(src.Name, src.Data)
		s.objs = append(s.objs, objs...)
		out = append(out, fs...)
	}
	s.index()
	skip := map[string]bool{}
	for _, id := range opt.Ignore {
		skip[id] = true
	}
	for _, r := range rules {
		if r.check == nil || skip[r.ID] {
			continue
		}
		out = append(out, r.check(s)...)
	}
	out = s.dropOptedOut(out, skip)
	sortFindings(out, order)
	return out
}

// dropOptedOut removes findings of ignored rules, and of rules an object
// opts out of by annotation.
func (s *set) dropOptedOut(fs []Finding, skip map[string]bool) []Finding {
	byID := map[string]*object{}
	for _, o := range s.objs {
		byID[o.file+"\x00"+o.id()] = o
	}
	out := fs[:0]
	for _, f := range fs {
		if skip[f.Rule] {
			continue
		}
		if o := byID[f.File+"\x00"+f.Object]; o != nil && o.ignore[f.Rule] {
			continue
		}
		out = append(out, f)
	}
	return out
}
