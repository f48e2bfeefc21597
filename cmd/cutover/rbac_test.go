package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutoverhq/cutover/steps"
)

func TestMergeRules(t *testing.T) {
	got := mergeRules([]steps.Permission{
		{Resource: "services", Verbs: []string{"patch", "get"}, Why: "stage switch: switch"},
		{APIGroup: "apps", Resource: "deployments", Verbs: []string{"get"}, Why: "stage a: apply"},
		{Resource: "services", Verbs: []string{"get", "create"}, Why: "stage svc: apply"},
		{Resource: "services", Verbs: []string{"get"}, Why: "stage switch: switch"},
		{Resource: "pods", Why: "no verbs: dropped"},
	})
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	svc := got[0]
	if svc.Group != "" || svc.Resource != "services" || strings.Join(svc.Verbs, ",") != "create,get,patch" {
		t.Errorf("services rule: %+v", svc)
	}
	if strings.Join(svc.Why, "|") != "stage switch: switch|stage svc: apply" {
		t.Errorf("reasons: %q", svc.Why)
	}
	if got[1].Group != "apps" {
		t.Errorf("core rules come first: %+v", got)
	}
}

func TestWriteRole(t *testing.T) {
	var b bytes.Buffer
	writeRole(&b, roleSpec{
		Pipeline: "web", Name: "cutover-web", Namespace: "shop",
		Rules: mergeRules([]steps.Permission{
			{Resource: "services", Verbs: []string{"patch", "get"}, Why: "stage switch: switch the selector"},
		}),
		Cluster: mergeRules([]steps.Permission{
			{Resource: "namespaces", Verbs: []string{"get"}, Why: "stage ns: apply Namespace shop"},
		}),
		Notes: []string{"stage smoke (exec) declares no API access"},
	})
	out := b.String()
	for _, want := range []string{
		"kind: Role\nmetadata:\n  name: \"cutover-web\"\n  namespace: \"shop\"\nrules:\n" +
			"# stage switch: switch the selector\n" +
			"- apiGroups: [\"\"]\n  resources: [\"services\"]\n  verbs: [\"get\", \"patch\"]\n",
		"# note: stage smoke (exec) declares no API access\n",
		"---\n# These resources are cluster-scoped",
		"kind: ClusterRole\n",
		"# kind: RoleBinding\n",
		"#   namespace: shop\n",
		"needs no rule",
		// the ClusterRole is bound too: a RoleBinding cannot grant it
		"# kind: ClusterRoleBinding\n# metadata:\n#   name: cutover-web\n# roleRef:\n" +
			"#   apiGroup: rbac.authorization.k8s.io\n#   kind: ClusterRole\n#   name: cutover-web\n" +
			"# subjects:\n# - kind: ServiceAccount\n#   name: SERVICE_ACCOUNT\n#   namespace: shop\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if len(l) > 101 {
			t.Errorf("line too long: %q", l)
		}
	}
}

func TestStatePermissions(t *testing.T) {
	rules := mergeRules(statePermissions("secret", "web"))
	if len(rules) != 2 || rules[0].Resource != "secrets" || strings.Join(rules[0].Verbs, ",") != "create,delete,get,list,update" ||
		rules[1].Resource != "leases" || strings.Join(rules[1].Verbs, ",") != "create,delete,get,update,watch" {
		t.Errorf("%+v", rules)
	}
	if !strings.Contains(strings.Join(rules[0].Why, " "), "cannot limit create") {
		t.Errorf("the journal rule does not say RBAC cannot limit create by name: %q", rules[0].Why)
	}
	if r := mergeRules(statePermissions("configmap", "")); len(r) != 1 || r[0].Resource != "configmaps" ||
		strings.Join(r[0].Verbs, ",") != "create,delete,get,list,patch" {
		t.Errorf("configmap journal without a lock: %+v", r)
	}
	if r := statePermissions("none", "web"); r != nil {
		t.Errorf("--state none: %+v", r)
	}
}

// rbacCLI runs `cutover rbac` without any kubeconfig: kinds are mapped by
// the built-in table.
func rbacCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := c.main(append([]string{"rbac"}, args...))
	return out.String(), errb.String(), code
}

func TestRBACBlueGreenService(t *testing.T) {
	out, stderr, code := rbacCLI(t, "../../pipelines/blue-green-service", "-var", "version=v2", "--name", "deployer")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"# stage switch: switch the Service selector; undo switches it back\n" +
			"- apiGroups: [\"\"]\n  resources: [\"services\"]\n  verbs: [\"create\", \"delete\", \"get\", \"patch\", \"update\"]\n",
		"# stage retire_blue: read and set the replica count; undo sets it back\n" +
			"- apiGroups: [\"apps\"]\n  resources: [\"deployments/scale\"]\n  verbs: [\"get\", \"patch\"]\n",
		"resources: [\"endpointslices\"]\n  verbs: [\"list\", \"watch\"]\n",
		"resources: [\"secrets\"]\n  verbs: [\"create\", \"delete\", \"get\", \"list\", \"update\"]\n",
		"# cutover lock: Lease cutover-lock-demo-release",
		"resources: [\"leases\"]\n  verbs: [\"create\", \"delete\", \"get\", \"update\", \"watch\"]\n",
		"  name: \"deployer\"\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Stages that only speak HTTP or lint need nothing, and nothing else
	// is granted.
	if strings.Contains(out, "configmaps") || strings.Contains(out, "ClusterRole") || strings.Contains(out, "# note:") || strings.Contains(out, "target") {
		t.Errorf("more than needed:\n%s", out)
	}
}

// TestRBACFleetSaysWhereTheRoleGoes: a pipeline with targets runs each
// share with its cluster's credentials; the Role says it goes into each.
func TestRBACFleetSaysWhereTheRoleGoes(t *testing.T) {
	out, stderr, code := rbacCLI(t, "../../pipelines/fleet-blue-green", "-var", "version=v2",
		"-var", `contexts={canary = "kind-canary", eu = "prod-eu", us = "prod-us"}`)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	note := strings.Join(strings.Fields(strings.ReplaceAll(out, "\n#", "")), " ")
	for _, want := range []string{
		"note: the pipeline releases to 3 targets, each in its own cluster",
		"in each target's cluster, in the namespace its share runs in",
		"canary (context kind-canary), eu (context prod-eu), us (context prod-us)",
	} {
		if !strings.Contains(note, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRBACWithoutRequiredVariable(t *testing.T) {
	out, stderr, code := rbacCLI(t, "../../pipelines/blue-green-service")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, `variable "version" not given`) {
		t.Errorf("stderr: %s", stderr)
	}
	if !strings.Contains(out, "manifests not known without their variables") {
		t.Errorf("the fallback is not explained:\n%s", out)
	}
	// The guess is said at once, naming the stages and the variable, on
	// the terminal and at the top of the Role.
	const said = "the rules of stages service, deploy_green are assumed, not known: what they act on depends on variable not given (version)"
	if !strings.Contains(stderr, "cutover: rbac: "+said) {
		t.Errorf("stderr does not say the rules are assumed: %s", stderr)
	}
	if !strings.Contains(out, "# note: ASSUMED: the rules of stages service, deploy_green are assumed, not known") {
		t.Errorf("the Role does not say its rules are assumed:\n%s", out)
	}
}

func TestRBACNotesKindsWithoutPermissions(t *testing.T) {
	dir := t.TempDir()
	src := `pipeline "p" {
  lock = false
}
stage "smoke" {
  exec {
    command = ["kubectl", "get", "pods"]
  }
}
stage "ns" {
  deploy {
    manifests = ["{apiVersion: v1, kind: Namespace, metadata: {name: shop}}"]
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := rbacCLI(t, dir, "--state", "none")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "# note: stage smoke (exec) declares no API access") {
		t.Errorf("exec not noted:\n%s", out)
	}
	role, cluster, _ := strings.Cut(out, "kind: ClusterRole")
	if !strings.Contains(cluster, "namespaces") || strings.Contains(role, "resources: [\"namespaces\"]") {
		t.Errorf("a Namespace belongs in the ClusterRole:\n%s", out)
	}
	if strings.Contains(out, "leases") || strings.Contains(out, "secrets") {
		t.Errorf("--state none and lock = false need no state rules:\n%s", out)
	}
}

func TestRBACRefusesWhatItCannotMap(t *testing.T) {
	dir := t.TempDir()
	src := `pipeline "p" {}
stage "s" {
  scale {
    kind     = "Rollout"
    name     = "web"
    replicas = 0
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := rbacCLI(t, dir)
	if code != exitInvalid || out != "" || !strings.Contains(stderr, "stage s: scale: kind \"Rollout\"") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
