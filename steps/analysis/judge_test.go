package analysis

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestJudgeArgoSemantics(t *testing.T) {
	ok := cty.ObjectVal(map[string]cty.Value{"status": cty.NumberIntVal(200), "json": cty.NullVal(cty.DynamicPseudoType)})
	bad := cty.ObjectVal(map[string]cty.Value{"status": cty.NumberIntVal(500), "json": cty.NullVal(cty.DynamicPseudoType)})
	odd := cty.ObjectVal(map[string]cty.Value{"status": cty.NumberIntVal(404), "json": cty.NullVal(cty.DynamicPseudoType)})
	for _, tc := range []struct {
		name, conds string
		result      cty.Value
		want        Phase
		errPart     string
	}{
		{"condition true", `condition = result.status == 200`, ok, Successful, ""},
		{"condition false", `condition = result.status == 200`, bad, Failed, ""},
		{"failure_condition alone, false", `failure_condition = result.status >= 500`, ok, Successful, ""},
		{"failure_condition alone, true", `failure_condition = result.status >= 500`, bad, Failed, ""},
		{"both, success", "condition = result.status == 200\nfailure_condition = result.status >= 500", ok, Successful, ""},
		{"both, failure", "condition = result.status == 200\nfailure_condition = result.status >= 500", bad, Failed, ""},
		{"both, neither", "condition = result.status == 200\nfailure_condition = result.status >= 500", odd, Inconclusive, ""},
		{"expression error", `condition = result.json.ok`, ok, Error, "null value"},
		{"condition evaluates to null", `condition = result.status == 200 ? null : true`, ok, Error, "evaluated to null"},
	} {
		for _, where := range []string{"body", "block"} {
			t.Run(tc.name+" in "+where, func(t *testing.T) {
				src := "http {\n  url = \"http://app/healthz\"\n" + tc.conds + "\n}"
				if where == "body" {
					src = tc.conds + "\nhttp {\n  url = \"http://app/healthz\"\n}"
				}
				env, _ := inline(t, src, nil)
				j, err := newJudge(env.Body, verifySpec(), env.EvalContext, lookupProvider("http"))
				if err != nil {
					t.Fatal(err)
				}
				got, err := j.phase(tc.result)
				if got != tc.want {
					t.Errorf("phase = %s (err %v), want %s", got, err, tc.want)
				}
				if (tc.want == Error) != (err != nil) {
					t.Errorf("err = %v, want one only for Error", err)
				}
				if err != nil && !strings.Contains(err.Error(), tc.errPart) {
					t.Errorf("err = %q, want it to mention %q", err, tc.errPart)
				}
			})
		}
	}
}

func TestJudgeFallbackAndRequired(t *testing.T) {
	env, _ := inline(t, `http { url = "http://app/healthz" }`, nil)
	j, err := newJudge(env.Body, verifySpec(), env.EvalContext, lookupProvider("http"))
	if err != nil {
		t.Fatal(err)
	}
	for status, want := range map[int64]Phase{200: Successful, 204: Successful, 301: Failed, 503: Failed} {
		if got, _ := j.phase(cty.ObjectVal(map[string]cty.Value{"status": cty.NumberIntVal(status)})); got != want {
			t.Errorf("status %d: %s, want %s", status, got, want)
		}
	}
	penv, _ := inline(t, `prometheus {
  address = "http://prom:9090"
  query   = "up"
}`, nil)
	if _, err := newJudge(penv.Body, verifySpec(), penv.EvalContext, lookupProvider("prometheus")); err == nil || !strings.Contains(err.Error(), "condition") {
		t.Errorf("prometheus without condition: err = %v", err)
	}
}
