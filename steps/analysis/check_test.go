package analysis

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestCheck(t *testing.T) {
	const web = "http {\n url = \"http://app/healthz\"\n condition = result.status == 200\n}\n"
	for _, tc := range []struct {
		name, src string
		want      string // a fragment of the only problem's detail; "" = no problem
	}{
		{"valid", `count = 3` + "\n" + `interval = "5s"` + "\n" + web, ""},
		{"count zero", "count = 0\n" + web, "count must be a whole number of at least 1"},
		{"fractional count", "count = 1.5\n" + web, "got 1.5"},
		{"negative failure_limit", "failure_limit = -1\n" + web, "failure_limit must be a whole number of at least 0"},
		{"negative consecutive_error_limit", "consecutive_error_limit = -2\n" + web, "consecutive_error_limit"},
		{"bad interval", `interval = "5 seconds"` + "\n" + web, "not a duration"},
		{"zero interval with count", "count = 2\n" + `interval = "0s"` + "\n" + web, "more than zero"},
		{"bad initial_delay", `initial_delay = "-1s"` + "\n" + web, "negative"},
		{"bad provider timeout", "http {\n url = \"http://app\"\n timeout = \"soon\"\n}", "not a duration"},
		{"no provider", "count = 1", "exactly one provider"},
		{"two providers", web + "exec {\n command = [\"true\"]\n}", "exactly one provider"},
		{"condition twice", "condition = true\n" + web, "both in the analysis body and in its http block"},
		{"prometheus needs a condition", "prometheus {\n address = \"http://prom:9090\"\n query = \"up\"\n}", "result.value < 0.01"},
		{"kubernetes needs a condition", "kubernetes {\n kind = \"Deployment\"\n name = \"web\"\n}", "result.ready_pods"},
		{"relative url", "http {\n url = \"/healthz\"\n}", "absolute"},
		{"bad method", "http {\n url = \"http://app\"\n method = \"GET /x\"\n}", "not an HTTP method"},
		{"empty command", "exec {\n command = []\n}", "at least the program"},
		{"bad api_version", "kubernetes {\n kind = \"Rollout\"\n name = \"x\"\n api_version = \"a/b/c\"\n condition = true\n}", "group/version"},
		{"unknown values are skipped", "count = var.n\nhttp {\n url = var.url\n}", ""},
	} {
		t.Run(tc.name, func(t *testing.T) { checkOne(t, tc.src, tc.want) })
	}
}

// checkOne checks an inline verify body src, with var unknown: want is a
// fragment of the only problem's detail, "" for none.
func checkOne(t *testing.T, src, want string) {
	t.Helper()
	_, cfg := inline(t, src, map[string]cty.Value{"var": cty.DynamicVal})
	ps := verifyKind{}.Check(cfg)
	if want == "" {
		if len(ps) > 0 {
			t.Fatalf("problems: %+v", ps)
		}
		return
	}
	if len(ps) != 1 {
		t.Fatalf("want one problem mentioning %q, got %+v", want, ps)
	}
	if !strings.Contains(ps[0].Detail, want) {
		t.Errorf("detail = %q, want it to mention %q", ps[0].Detail, want)
	}
}

func TestCheckReference(t *testing.T) {
	// Settings next to a reference are a mistake: which count wins?
	a := "count = 0\nhttp {\n url = \"http://${var.host}/healthz\"\n}"
	_, cfg := reference(t, "healthy", a, map[string]cty.Value{"var": cty.DynamicVal})
	ps := verifyKind{}.Check(cfg)
	// At the analysis block's count (line 1, column 9), not at the reference.
	if len(ps) != 1 || ps[0].Subject == nil || ps[0].Subject.Start.Line != 1 || ps[0].Subject.Start.Column != 9 || !strings.Contains(ps[0].Detail, `In analysis "healthy", count`) {
		t.Fatalf("problems = %+v, want the referenced analysis' count named, at its attribute", ps)
	}

	env, _ := reference(t, "healthy", "http {\n url = \"http://app\"\n}", nil)
	both := parseBody(t, "analysis = analysis.healthy\ncount = 2")
	cfg2, _ := decodeWith(t, both, env)
	ps = verifyKind{}.Check(cfg2)
	if len(ps) != 1 || ps[0].Path[0] != "count" || !strings.Contains(ps[0].Detail, "belongs in that analysis block") {
		t.Fatalf("problems = %+v, want count next to a reference reported", ps)
	}
}
