package analysis

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

func permissionsOf(t *testing.T, env *steps.Env, cfg cty.Value) []string {
	t.Helper()
	ps, err := verifyKind{}.Permissions(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		if p.Why == "" {
			t.Errorf("%s/%s: no reason", p.APIGroup, p.Resource)
		}
		out = append(out, p.APIGroup+"/"+p.Resource+": "+strings.Join(p.Verbs, ","))
	}
	return out
}

func TestVerifyPermissions(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want string
	}{
		{"kubernetes deployment", `
count = 1
kubernetes {
  kind      = "Deployment"
  name      = "web"
  condition = result.ready_pods == 3
}`, "apps/deployments: get; /pods: list"},
		{"kubernetes pod", `
count = 1
kubernetes {
  kind      = "Pod"
  name      = "web-0"
  condition = result.ready_pods == 1
}`, "/pods: get"},
		{"kubernetes custom resource", `
count = 1
kubernetes {
  kind        = "Rollout"
  api_version = "argoproj.io/v1alpha1"
  name        = "web"
  condition   = result.ready_pods == 1
}`, "argoproj.io/rollouts: get; /pods: list"},
		{"http needs nothing", `
count = 1
http {
  url       = "http://web/healthz"
  condition = result.status == 200
}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, cfg := inline(t, tc.src, nil)
			if got := strings.Join(permissionsOf(t, env, cfg), "; "); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVerifyPermissionsOfAReferencedAnalysis(t *testing.T) {
	env, cfg := reference(t, "green_ready", `
count = 1
kubernetes {
  kind      = "sts"
  name      = var.app
  condition = result.ready_pods == 2
}`, map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"app": cty.StringVal("db")})})
	got := permissionsOf(t, env, cfg)
	if strings.Join(got, "; ") != "apps/statefulsets: get; /pods: list" {
		t.Errorf("got %q", got)
	}
	ps, _ := verifyKind{}.Permissions(env, cfg)
	if !strings.Contains(ps[0].Why, "analysis green_ready") || !strings.Contains(ps[0].Why, "db") {
		t.Errorf("why = %q", ps[0].Why)
	}
}

func TestVerifyPermissionsKindNotKnown(t *testing.T) {
	env, cfg := inline(t, `
count = 1
kubernetes {
  kind      = var.kind
  name      = "web"
  condition = result.ready_pods == 1
}`, map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"kind": cty.UnknownVal(cty.String)})})
	ps, err := verifyKind{}.Permissions(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Resource != "deployments" || !strings.Contains(ps[0].Why, "assumed Deployment") {
		t.Errorf("%+v", ps)
	}
}
