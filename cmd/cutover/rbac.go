package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/engine"
	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
	"github.com/cutoverhq/cutover/steps/workloads"
)

// cmdRBAC prints the Role a pipeline's runs need (docs/rbac.md): the union
// of what its stages declare (steps.Permissioner) and cutover's own run
// state and lock, with a RoleBinding template.
func cmdRBAC(c *cli, args []string) int {
	// --state is the run's flag (where the journal is kept); rbac also
	// takes "none", for runs with --no-journal (no journal, no lock).
	o, path, ok := c.parsePath("rbac", args)
	if !ok {
		return exitInvalid
	}
	name := o.roleName
	state := o.state
	if state != "secret" && state != "configmap" && state != "none" {
		c.errorf("--state is secret, configmap or none, not %q", state)
		return exitInvalid
	}
	// A required variable without a value is unknown rather than an
	// error: what the Role needs rarely depends on it, and the kinds say
	// what they cannot know.
	o.lenient = true
	p, ok := c.load(path, o)
	if !ok {
		return exitInvalid
	}
	for _, name := range p.Missing {
		fmt.Fprintf(c.stderr, "cutover: rbac: variable %q not given: what depends on it is covered as far as it can be known (see the comments)\n", name)
	}
	c.applyNamespace(p, o)

	var cl *kube.Cluster
	if c.hasKubeconfig(o) {
		// Kinds are mapped to resources by the cluster's discovery when
		// it answers; otherwise by cutover's built-in table.
		cl = c.cluster(o)
		clients, err := cl.Clients()
		if err == nil {
			err = clients.Reachable(context.Background())
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "cutover: rbac: no cluster to map kinds with (%v); using the built-in table of kinds\n", err)
			cl = nil
		}
	}

	perms, notes, assumed, errs := stagePermissions(p, cl)
	for _, e := range errs {
		c.errorf("%v", e)
	}
	if len(errs) > 0 {
		c.errorf("no Role printed: it would miss what those stages need")
		return exitInvalid
	}
	if len(assumed) > 0 {
		// Said where it is read (the Role) and where it is seen at once
		// (the terminal): these rules are a guess, not what runs need.
		msg := fmt.Sprintf("the rules of %s %s are assumed, not known: what they act on depends on %s not given (%s); each such rule says \"not known without its variables\". Give every variable for an exact Role.",
			words.Noun(len(assumed), "stage"), strings.Join(assumed, ", "), words.Noun(len(p.Missing), "variable"), strings.Join(p.Missing, ", "))
		fmt.Fprintf(c.stderr, "cutover: rbac: %s\n", msg)
		notes = append([]string{"ASSUMED: " + msg}, notes...)
	}
	perms = append(perms, statePermissions(state, p.Lock)...)
	if name == "" {
		name = "cutover-" + dnsName(p.Name)
	}
	if n := targetsNote(p.Targets); n != "" {
		notes = append(notes, n)
	}
	spec := roleSpec{Pipeline: p.Name, Name: name, Namespace: p.Namespace, Notes: notes}
	for _, r := range mergeRules(perms) {
		if workloads.ClusterScoped(r.Group, strings.Split(r.Resource, "/")[0]) {
			spec.Cluster = append(spec.Cluster, r)
		} else {
			spec.Rules = append(spec.Rules, r)
		}
	}
	writeRole(c.stdout, spec)
	return exitOK
}

// knownConfig is a step's block read as far as the variables make it known
// (stage results and outputs unknown), unmarked: what a kind's Permissions
// sees before the run.
func knownConfig(step *config.Step, evalCtx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	cfg, diags := hcldec.Decode(step.Body, step.Kind.Spec(), evalCtx)
	cfg, _ = cfg.UnmarkDeep()
	return cfg, diags
}

// stagePermissions asks every stage's step (and its undo block) what it
// needs, each Why prefixed with the stage. Every stage counts, whatever its
// `when`: the Role serves every run of the pipeline, not one.
func stagePermissions(p *engine.Program, cl *kube.Cluster) (perms []steps.Permission, notes, assumed []string, errs []error) {
	planCtx := p.EvalContext(nil)
	for _, name := range p.Order {
		st := p.Stages[name]
		evalCtx := st.Context(planCtx) // each.key and each.value for an instance
		blocks := []struct {
			step  *config.Step
			label string
		}{{st.Step, "stage " + name}}
		if st.Undo != nil && st.Undo.Step != nil {
			blocks = append(blocks, struct {
				step  *config.Step
				label string
			}{st.Undo.Step, "stage " + name + " (undo block)"})
		}
		for _, b := range blocks {
			if b.step == nil || b.step.Kind == nil {
				continue
			}
			kind := b.step.Kind
			pm, ok := kind.(steps.Permissioner)
			if !ok {
				notes = append(notes, fmt.Sprintf("%s (%s) declares no API access: whatever it does with the cluster (a command running kubectl, say) needs rules of its own", b.label, kind.Name()))
				continue
			}
			cfg, diags := knownConfig(b.step, evalCtx)
			if diags.HasErrors() {
				errs = append(errs, fmt.Errorf("%s: %s", b.label, diags.Error()))
				continue
			}
			env := &steps.Env{Pipeline: p.Name, Stage: name, Namespace: p.Namespace, Dir: p.Config.Dir,
				Cluster: cl, Body: b.step.Body, EvalContext: evalCtx}
			ps, err := pm.Permissions(env, cfg)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", b.label, err))
				continue
			}
			for _, x := range ps {
				x.Why = b.label + ": " + x.Why
				perms = append(perms, x)
				if x.Assumed && !slices.Contains(assumed, name) {
					assumed = append(assumed, name)
				}
			}
		}
	}
	return perms, notes, assumed, errs
}

// statePermissions are cutover's own objects: the run's journal and the
// pipeline's lock (none with lock = false).
func statePermissions(state, lockName string) []steps.Permission {
	if state == "none" {
		return nil
	}
	var out []steps.Permission
	res, what := "secrets", "Secrets cutover-run-RUN of type cutover.dev/run.v1"
	verbs := []string{"get", "list", "create", "update", "delete"}
	if state == "configmap" {
		// The ConfigMap journal appends with merge patches.
		res, what = "configmaps", "ConfigMaps cutover-run-RUN"
		verbs = []string{"get", "list", "create", "patch", "delete"}
	}
	out = append(out, steps.Permission{Resource: res, Verbs: verbs,
		Why: "cutover run state: the journal of each run (" + what + "); list finds runs for status, resume and undo, delete prunes old runs. RBAC cannot limit create or list to names, so this holds for every one of the namespace's " + res})
	if lockName != "" {
		out = append(out, steps.Permission{APIGroup: "coordination.k8s.io", Resource: "leases",
			Verbs: []string{"get", "create", "update", "delete", "watch"},
			Why:   fmt.Sprintf("cutover lock: Lease cutover-lock-%s, taken, renewed and released; a run waiting for it watches it", strings.ToLower(strings.ReplaceAll(lockName, "_", "-")))})
	}
	return out
}

// roleRule is one rule of the Role: the verbs on one resource, and why.
type roleRule struct {
	Group, Resource string
	Verbs           []string
	Why             []string
}

// mergeRules unions permissions per API group and resource: verbs sorted
// and without duplicates, reasons in the order given without duplicates.
// Rules are ordered by group (core first) then resource.
func mergeRules(perms []steps.Permission) []roleRule {
	type key struct{ g, r string }
	idx := map[key]int{}
	var out []roleRule
	verbs := []map[string]bool{}
	whys := []map[string]bool{}
	for _, p := range perms {
		if p.Resource == "" || len(p.Verbs) == 0 {
			continue
		}
		k := key{p.APIGroup, p.Resource}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, roleRule{Group: p.APIGroup, Resource: p.Resource})
			verbs = append(verbs, map[string]bool{})
			whys = append(whys, map[string]bool{})
		}
		for _, v := range p.Verbs {
			verbs[i][v] = true
		}
		if p.Why != "" && !whys[i][p.Why] {
			whys[i][p.Why] = true
			out[i].Why = append(out[i].Why, p.Why)
		}
	}
	for i := range out {
		for v := range verbs[i] {
			out[i].Verbs = append(out[i].Verbs, v)
		}
		sort.Strings(out[i].Verbs)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}

// targetsNote says where a fleet's Role goes: each target runs its share
// with its own cluster's credentials, and keeps its journal and lock in
// its own namespace there ("" for a pipeline without targets).
func targetsNote(targets []engine.Target) string {
	if len(targets) == 0 {
		return ""
	}
	var where []string
	for _, t := range targets {
		var at []string
		if t.Context != "" {
			at = append(at, "context "+t.Context)
		}
		if t.Namespace != "" {
			at = append(at, "namespace "+t.Namespace)
		}
		if len(at) == 0 {
			where = append(where, t.Name)
		} else {
			where = append(where, t.Name+" ("+strings.Join(at, ", ")+")")
		}
	}
	return fmt.Sprintf("the pipeline releases to %s, each in its own cluster with its own journal and lock: "+
		"apply what follows, with its bindings, in each target's cluster, in the namespace its share runs in, "+
		"for the identity that cluster's share runs as: %s", words.Count(len(targets), "target"), strings.Join(where, ", "))
}

// roleSpec is what rbac prints.
type roleSpec struct {
	Pipeline, Name, Namespace string
	Rules                     []roleRule // namespaced
	Cluster                   []roleRule // cluster-scoped: a Role cannot grant them
	Notes                     []string
}

// writeRole prints the Role as YAML with a comment per reason, the
// cluster-scoped rules as a ClusterRole, and in comments a RoleBinding
// template (and a ClusterRoleBinding one for the ClusterRole).
func writeRole(w io.Writer, s roleSpec) {
	fmt.Fprintf(w, "# Role for pipeline %q, printed by `cutover rbac`: what its stages need to\n", s.Pipeline)
	fmt.Fprintln(w, "# run and to be undone, and cutover's own run state and lock. Discovery (which")
	fmt.Fprintln(w, "# APIs the cluster serves) needs no rule: every authenticated user has it.")
	for _, n := range s.Notes {
		comment(w, "", "note: "+n)
	}
	fmt.Fprintln(w, "apiVersion: rbac.authorization.k8s.io/v1")
	fmt.Fprintln(w, "kind: Role")
	fmt.Fprintln(w, "metadata:")
	fmt.Fprintf(w, "  name: %s\n", strconv.Quote(s.Name))
	if s.Namespace != "" {
		fmt.Fprintf(w, "  namespace: %s\n", strconv.Quote(s.Namespace))
	} else {
		fmt.Fprintln(w, "  # no namespace: the pipeline names none; apply it with -n NAMESPACE")
	}
	writeRules(w, s.Rules)
	if len(s.Cluster) > 0 {
		fmt.Fprintln(w, "---")
		comment(w, "", "These resources are cluster-scoped: a Role cannot grant them. Review them "+
			"before binding this ClusterRole (with a ClusterRoleBinding) to the same identity.")
		fmt.Fprintln(w, "apiVersion: rbac.authorization.k8s.io/v1")
		fmt.Fprintln(w, "kind: ClusterRole")
		fmt.Fprintln(w, "metadata:")
		fmt.Fprintf(w, "  name: %s\n", strconv.Quote(s.Name))
		writeRules(w, s.Cluster)
	}
	ns := s.Namespace
	if ns == "" {
		ns = "NAMESPACE"
	}
	fmt.Fprintln(w, "# Bind it to the identity CI runs cutover as, e.g. a ServiceAccount:")
	writeBinding(w, "RoleBinding", "Role", s.Name, ns)
	if len(s.Cluster) == 0 {
		return
	}
	// A ClusterRole grants cluster-scoped objects only through a
	// ClusterRoleBinding: bound by a RoleBinding it would grant them in
	// one namespace, which is to say not at all.
	fmt.Fprintln(w, "# and the ClusterRole to the same identity with a ClusterRoleBinding (a RoleBinding")
	fmt.Fprintln(w, "# cannot grant cluster-scoped objects):")
	writeBinding(w, "ClusterRoleBinding", "ClusterRole", s.Name, ns)
}

// writeBinding writes, commented out, a binding of kind (RoleBinding or
// ClusterRoleBinding) of the role named name to a ServiceAccount in ns; a
// ClusterRoleBinding has no namespace of its own.
func writeBinding(w io.Writer, kind, roleKind, name, ns string) {
	fmt.Fprintln(w, "# ---")
	fmt.Fprintln(w, "# apiVersion: rbac.authorization.k8s.io/v1")
	fmt.Fprintf(w, "# kind: %s\n", kind)
	fmt.Fprintln(w, "# metadata:")
	fmt.Fprintf(w, "#   name: %s\n", name)
	if kind == "RoleBinding" {
		fmt.Fprintf(w, "#   namespace: %s\n", ns)
	}
	fmt.Fprintln(w, "# roleRef:")
	fmt.Fprintln(w, "#   apiGroup: rbac.authorization.k8s.io")
	fmt.Fprintf(w, "#   kind: %s\n", roleKind)
	fmt.Fprintf(w, "#   name: %s\n", name)
	fmt.Fprintln(w, "# subjects:")
	fmt.Fprintln(w, "# - kind: ServiceAccount")
	fmt.Fprintln(w, "#   name: SERVICE_ACCOUNT")
	fmt.Fprintf(w, "#   namespace: %s\n", ns)
}

func writeRules(w io.Writer, rules []roleRule) {
	if len(rules) == 0 {
		fmt.Fprintln(w, "rules: []")
		return
	}
	fmt.Fprintln(w, "rules:")
	for _, r := range rules {
		for _, why := range r.Why {
			comment(w, "", why)
		}
		fmt.Fprintf(w, "- apiGroups: [%s]\n", strconv.Quote(r.Group))
		fmt.Fprintf(w, "  resources: [%s]\n", strconv.Quote(r.Resource))
		q := make([]string, len(r.Verbs))
		for i, v := range r.Verbs {
			q[i] = strconv.Quote(v)
		}
		fmt.Fprintf(w, "  verbs: [%s]\n", strings.Join(q, ", "))
	}
}

// comment writes text as YAML comment lines of at most about 100 columns.
func comment(w io.Writer, indent, text string) {
	line := indent + "#"
	for _, word := range strings.Fields(text) {
		if len(line)+1+len(word) > 100 && line != indent+"#" {
			fmt.Fprintln(w, line)
			line = indent + "#  "
		}
		line += " " + word
	}
	fmt.Fprintln(w, line)
}

// dnsName makes a pipeline name usable as an object name: lower case,
// characters other than letters, digits, '-' and '.' replaced by '-'.
func dnsName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.') {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b), "-.")
}
