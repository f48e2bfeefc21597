package workloads

import (
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// permCfg decodes a step body with the kind's spec; vars are the variables
// it may use (an unknown one stands for a variable not given).
func permCfg(t *testing.T, k steps.Kind, src string, vars map[string]cty.Value) cty.Value {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}}
	if len(vars) > 0 {
		ctx.Variables["var"] = cty.ObjectVal(vars)
	}
	v, diags := hcldec.Decode(f.Body, k.Spec(), ctx)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return v
}

// rules renders permissions as "group/resource: verbs" lines, merged per
// resource and sorted, which is what a Role made of them grants.
func rules(t *testing.T, k steps.Kind, cfg cty.Value) []string {
	t.Helper()
	ps, err := k.(steps.Permissioner).Permissions(&steps.Env{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	verbs := map[string]map[string]bool{}
	for _, p := range ps {
		if p.Why == "" {
			t.Errorf("%s/%s has no reason", p.APIGroup, p.Resource)
		}
		key := p.APIGroup + "/" + p.Resource
		if verbs[key] == nil {
			verbs[key] = map[string]bool{}
		}
		for _, v := range p.Verbs {
			verbs[key][v] = true
		}
	}
	var out []string
	for key, vs := range verbs {
		var l []string
		for v := range vs {
			l = append(l, v)
		}
		sort.Strings(l)
		out = append(out, key+": "+strings.Join(l, ","))
	}
	sort.Strings(out)
	return out
}

func sameRules(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

const rbacManifests = `
manifests = [<<-EOT
  apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: web, image: web:v2}]}
  ---
  apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec: {selector: {app: web}, ports: [{port: 80}]}
  EOT
  , <<-EOT
  apiVersion: argoproj.io/v1alpha1
  kind: AnalysisTemplate
  metadata: {name: web}
  EOT
]
`

func TestDeployPermissionsPerObject(t *testing.T) {
	sameRules(t, rules(t, deployKind{}, permCfg(t, deployKind{}, rbacManifests, nil)),
		"/pods: list,watch",
		"/services: create,delete,get,patch,update",
		"apps/deployments: create,delete,get,list,patch,update,watch",
		"argoproj.io/analysistemplates: create,delete,get,patch,update")
}

func TestDeployWithoutWaitStillWatchesTheFirstDeployment(t *testing.T) {
	// wait = false still waits for the controller to observe the spec, to
	// return the new revision.
	sameRules(t, rules(t, deployKind{}, permCfg(t, deployKind{}, rbacManifests+"wait = false\n", nil)),
		"/pods: list,watch",
		"/services: create,delete,get,patch,update",
		"apps/deployments: create,delete,get,list,patch,update,watch",
		"argoproj.io/analysistemplates: create,delete,get,patch,update")
}

func TestDeployGuessedResourceIsSaid(t *testing.T) {
	ps, err := deployKind{}.Permissions(&steps.Env{}, permCfg(t, deployKind{}, rbacManifests, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		guessed := strings.Contains(p.Why, "guessed")
		if guessed != (p.APIGroup == "argoproj.io") {
			t.Errorf("%s/%s: why %q", p.APIGroup, p.Resource, p.Why)
		}
	}
}

func TestDeployUnknownManifestsFallBack(t *testing.T) {
	cfg := permCfg(t, deployKind{}, `manifests = [var.m]`, map[string]cty.Value{"m": cty.UnknownVal(cty.String)})
	got := rules(t, deployKind{}, cfg)
	sameRules(t, got,
		"/configmaps: create,delete,get,patch,update",
		"/pods: list,watch",
		"/services: create,delete,get,patch,update",
		"apps/deployments: create,delete,get,list,patch,update,watch")
	ps, _ := deployKind{}.Permissions(&steps.Env{}, cfg)
	if !strings.Contains(ps[0].Why, "not known") {
		t.Errorf("the fallback does not say why: %q", ps[0].Why)
	}
}

func TestDeployInvalidManifestsFail(t *testing.T) {
	_, err := deployKind{}.Permissions(&steps.Env{}, permCfg(t, deployKind{}, `manifests = ["kind: Deployment"]`, nil))
	if err == nil || !strings.Contains(err.Error(), "apiVersion") {
		t.Errorf("err = %v", err)
	}
}

func TestScalePermissionsUseTheSubresource(t *testing.T) {
	sameRules(t, rules(t, scaleKind{}, permCfg(t, scaleKind{}, `
name     = "web"
replicas = 0
`, nil)),
		"/pods: list,watch", // to name a new replica the scheduler cannot place
		"apps/deployments/scale: get,patch",
		"apps/deployments: list,watch")
	sameRules(t, rules(t, scaleKind{}, permCfg(t, scaleKind{}, `
kind     = "sts"
name     = "db"
replicas = 3
`, nil)),
		"/pods: list,watch",
		"apps/statefulsets/scale: get,patch",
		"apps/statefulsets: list,watch")
}

func TestKindPermissions(t *testing.T) {
	for _, tc := range []struct {
		kind steps.Kind
		src  string
		want []string
	}{
		{patchKind{}, `
kind  = "Service"
name  = "web"
patch = { metadata = { labels = { a = "b" } } }`, []string{"/services: get,patch,update"}},
		{patchKind{}, `
kind  = "deployments.apps"
name  = "web"
patch = { spec = { paused = true } }`, []string{"/pods: list,watch", "apps/deployments: get,list,patch,update,watch"}},
		{deleteKind{}, `
kind = "Deployment"
name = "old"
wait = false`, []string{"/pods: list,watch", "apps/deployments: create,delete,get,list,update,watch"}},
		{deleteKind{}, `
kind = "ConfigMap"
name = "old"`, []string{"/configmaps: create,delete,get,list,update,watch"}},
		{deleteKind{}, `
kind = "ConfigMap"
name = "old"
wait = false`, []string{"/configmaps: create,delete,get,update"}},
		{rollbackKind{}, `name = "web"`, []string{"/pods: list,watch", "apps/deployments: get,list,patch,watch", "apps/replicasets: list"}},
		{waitKind{}, `duration = "5s"`, nil},
		{waitKind{}, `
resource {
  kind = "batch/v1/Job"
  name = "migrate"
}
condition = "Complete"`, []string{"batch/jobs: get,list,watch"}},
		{waitKind{}, `
resource {
  kind = "StatefulSet"
  name = "db"
}
rollout = true`, []string{"/pods: list,watch", "apps/statefulsets: get,list,watch"}},
	} {
		sameRules(t, rules(t, tc.kind, permCfg(t, tc.kind, tc.src, nil)), tc.want...)
	}
}

func TestKindNotKnownAssumesDeployment(t *testing.T) {
	cfg := permCfg(t, scaleKind{}, `
kind     = var.k
name     = "web"
replicas = 1`, map[string]cty.Value{"k": cty.UnknownVal(cty.String)})
	ps, err := scaleKind{}.Permissions(&steps.Env{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Resource != "deployments/scale" || !strings.Contains(ps[0].Why, "assumed Deployment") {
		t.Errorf("%+v", ps[0])
	}
}

func TestOfflineKindForms(t *testing.T) {
	for in, want := range map[string]string{
		"Deployment":                           "apps/deployments",
		"deploy":                               "apps/deployments",
		"deployments":                          "apps/deployments",
		"deployments.apps":                     "apps/deployments",
		"apps/v1/Deployment":                   "apps/deployments",
		"v1/Service":                           "/services",
		"svc":                                  "/services",
		"ing":                                  "networking.k8s.io/ingresses",
		"httproutes.gateway.networking.k8s.io": "gateway.networking.k8s.io/httproutes",
		"Gateway.networking.istio.io":          "networking.istio.io/gateways",
		"rollouts.argoproj.io":                 "argoproj.io/rollouts",
		"argoproj.io/v1alpha1/Rollout":         "argoproj.io/rollouts",
		"example.com/v1/Policy":                "example.com/policies",
	} {
		r, err := offlineKind(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := r.Group + "/" + r.Resource; got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	if _, err := offlineKind("Rollout"); err == nil || !strings.Contains(err.Error(), "resource.group") {
		t.Errorf("an unknown bare kind: %v", err)
	}
	if !ClusterScoped("", "namespaces") || ClusterScoped("apps", "deployments") {
		t.Error("ClusterScoped")
	}
}
