package report

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ciEnv is a runner's environment with its files in a temp dir.
func ciEnv(t *testing.T, kv ...string) (func(string) string, string) {
	dir := t.TempDir()
	m := map[string]string{
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md"),
		"GITHUB_WORKSPACE":    "/home/runner/work/shop",
		"CUTOVER_DOTENV":      filepath.Join(dir, "cutover.env"),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }, dir
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGitHubFailedRun(t *testing.T) {
	env, _ := ciEnv(t)
	// An output file with a line already there: cutover must append.
	if err := os.WriteFile(env("GITHUB_OUTPUT"), []byte("earlier=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	s := NewGitHub(&b, env, Options{Secrets: secrets})
	play(s, failedRun())
	if err := Close(s); err != nil {
		t.Fatal(err)
	}
	log := b.String()
	golden(t, "github.golden", b.Bytes())

	// Masks first, one per secret, per line of the multi-line one and per
	// base64 form (a Secret's data, a basic-auth header); and the secrets
	// nowhere else in the log.
	lines := strings.Split(log, "\n")
	masks := map[string]bool{}
	for _, l := range lines {
		if !strings.HasPrefix(l, "::add-mask::") {
			break
		}
		masks[l] = true
	}
	for _, want := range []string{"::add-mask::-----BEGIN KEY-----%0A" + keyLine + "%0A-----END KEY-----", "::add-mask::-----BEGIN KEY-----", "::add-mask::" + keyLine, "::add-mask::-----END KEY-----", "::add-mask::" + token,
		"::add-mask::" + base64.StdEncoding.EncodeToString([]byte(token))} {
		if !masks[want] {
			t.Errorf("no leading %q among the masks %v", want, masks)
		}
	}
	var rest []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "::add-mask::") {
			rest = append(rest, l)
		}
	}
	noSecrets(t, "GitHub log (after the masks)", []byte(strings.Join(rest, "\n")))

	// Groups are balanced and never nested, and each holds one stage.
	depth := 0
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "::group::"):
			if depth++; depth > 1 {
				t.Fatalf("nested group at %q", l)
			}
		case l == "::endgroup::":
			if depth--; depth < 0 {
				t.Fatal("endgroup without group")
			}
		}
	}
	if depth != 0 {
		t.Fatal("unclosed group")
	}
	grp := regexp.MustCompile(`(?s)::group::9\.0s  deploy_green     succeeded in 8\.5s \(2 attempts\)\n(.*?)::endgroup::`).FindStringSubmatch(log)
	if grp == nil {
		t.Fatalf("no group for deploy_green:\n%s", log)
	}
	if !strings.Contains(grp[1], "progress: ready replicas 0/3") || !strings.Contains(grp[1], "started (attempt 2)") || strings.Contains(grp[1], "verify_green") {
		t.Errorf("deploy_green group holds the wrong lines:\n%s", grp[1])
	}
	// Live: verify_green's start is printed outside any group, before notify ends.
	if i, j := strings.Index(log, "   9.1s  verify_green     started (attempt 1)\n"), strings.Index(log, "::group::11.0s  notify"); i < 0 || j < 0 || i > j {
		t.Errorf("live start line of verify_green missing or after notify's group")
	}
	for _, want := range []string{
		"::error file=pipelines/checkout/main.hcl,line=30,title=cutover%3A stage verify_green failed::analysis healthy: 2 failed measurements (failure_limit 1)%0Alast: GET http://checkout-preview/healthz returned 503\n",
		"::error file=pipelines/checkout/main.hcl,line=14,title=cutover%3A undo of stage deploy_green failed::restore Deployment",
		"::error title=cutover%3A undo incomplete::Left for a person:%0A- deploy_green: restore",
		"Result: failed, undo incomplete in 15.1s\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("missing %q in the log", want)
		}
	}

	out := read(t, env("GITHUB_OUTPUT"))
	noSecrets(t, "GITHUB_OUTPUT", out)
	got := parseGitHubOutput(t, string(out))
	if got["earlier"] != "1" || got["result"] != "failed, undo incomplete" || got["run-id"] != "r-42" ||
		got["outputs"] != `{"previous_version":"v1","echo":"***","green":{"replicas":3}}` {
		t.Errorf("outputs: %q", got)
	}
	sum := read(t, env("GITHUB_STEP_SUMMARY"))
	noSecrets(t, "GITHUB_STEP_SUMMARY", sum)
	if !bytes.Contains(sum, []byte("```mermaid")) || !bytes.Contains(sum, []byte("| `verify_green` | verify | ❌ failed |")) {
		t.Errorf("step summary lacks the table or the graph:\n%s", sum)
	}
}

// parseGitHubOutput reads $GITHUB_OUTPUT the way the runner does: name=value
// lines and name<<DELIM heredocs.
func parseGitHubOutput(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if name, delim, ok := strings.Cut(l, "<<"); ok {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("heredoc %s not closed", delim)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		k, v, _ := strings.Cut(l, "=")
		out[k] = v
	}
	return out
}

func TestGitHubMultilineOutputAndDiagnostics(t *testing.T) {
	env, _ := ciEnv(t)
	var b bytes.Buffer
	s := NewGitHub(&b, env, Options{})
	play(s, okRun())
	got := parseGitHubOutput(t, string(read(t, env("GITHUB_OUTPUT"))))
	if got["result"] != "succeeded" || got["outputs"] != `{"said":"hello\nworld"}` {
		t.Errorf("outputs: %q", got)
	}

	env, _ = ciEnv(t)
	b.Reset()
	s = NewGitHub(&b, env, Options{})
	diags := invalidRun()
	diags[0].Diagnostic.File = "/home/runner/work/shop/pipelines/main.hcl"
	play(s, diags)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"::error file=pipelines/main.hcl,line=12,col=17,endLine=12,endColumn=35,title=Unknown stage::Unknown stage%0AThere is no stage named \"deploy_gren\".\n",
		"::warning file=main.hcl,line=3,col=3,title=Deprecated attribute::Deprecated attribute\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
	if got := parseGitHubOutput(t, string(read(t, env("GITHUB_OUTPUT")))); got["result"] != "invalid" {
		t.Errorf("result for diagnostics only = %q, want invalid", got["result"])
	}
}

func TestGitHubDefusesCommands(t *testing.T) {
	env, _ := ciEnv(t)
	var b bytes.Buffer
	evs := okRun()
	s := NewGitHub(&b, env, Options{})
	play(s, evs[:1])
	s.Emit(evs[1])
	ev := evs[1]
	ev.Type, ev.Error = "stage_failed", "boom\n::set-output name=x::pwned"
	s.Emit(ev)
	if strings.Contains(b.String(), "\n::set-output") {
		t.Fatalf("a message started a line with a workflow command:\n%s", b.String())
	}
}

func TestGitLabSectionsAndDotenv(t *testing.T) {
	env, _ := ciEnv(t)
	var b bytes.Buffer
	s := NewGitLab(&b, env, Options{Secrets: secrets})
	play(s, failedRun())
	if err := Close(s); err != nil {
		t.Fatal(err)
	}
	log := b.String()
	noSecrets(t, "GitLab log", b.Bytes())
	golden(t, "gitlab.golden", b.Bytes())
	start := at(0.5).Unix()
	want := "\x1b[0Ksection_start:" + itoa(int(start)) + ":cutover_deploy_green[collapsed=true]\r\x1b[0K   9.0s  deploy_green     succeeded in 8.5s (2 attempts)\n"
	if !strings.Contains(log, want) {
		t.Errorf("missing collapsed section start %q in:\n%q", want, log)
	}
	if !strings.Contains(log, "\x1b[0Ksection_end:"+itoa(int(at(9).Unix()))+":cutover_deploy_green\r\x1b[0K\n") {
		t.Error("missing section end of deploy_green")
	}
	// A failed stage's section is open, so the error is visible.
	if !strings.Contains(log, ":cutover_verify_green\r\x1b[0K  14.0s  verify_green     failed") {
		t.Errorf("verify_green's section should be expanded:\n%q", log)
	}
	if strings.Count(log, "section_start:") != strings.Count(log, "section_end:") {
		t.Error("unbalanced sections")
	}
	env2 := read(t, env("CUTOVER_DOTENV"))
	noSecrets(t, "dotenv", env2)
	wantEnv := "CUTOVER_RESULT=failed, undo incomplete\nCUTOVER_RUN_ID=r-42\nCUTOVER_OUTPUT_ECHO=***\nCUTOVER_OUTPUT_GREEN={\"replicas\":3}\nCUTOVER_OUTPUT_PREVIOUS_VERSION=v1\n"
	if string(env2) != wantEnv {
		t.Errorf("dotenv:\n%s\nwant:\n%s", env2, wantEnv)
	}
}

func TestGitLabDotenvOneLinePerValue(t *testing.T) {
	env, dir := ciEnv(t)
	path := filepath.Join(dir, "other.env")
	var b bytes.Buffer
	play(NewGitLab(&b, env, Options{Dotenv: path}), okRun())
	got := string(read(t, path))
	if got != "CUTOVER_RESULT=succeeded\nCUTOVER_RUN_ID=r-7\nCUTOVER_OUTPUT_SAID=hello\\nworld\n" {
		t.Errorf("dotenv = %q", got)
	}
}

func TestCIJobLinks(t *testing.T) {
	for _, tc := range []struct {
		env            map[string]string
		provider, link string
	}{
		{map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "7"}, "github", "https://github.com/acme/shop/actions/runs/7"},
		{map[string]string{"CI_JOB_URL": "https://gitlab.example/acme/shop/-/jobs/9"}, "gitlab", "https://gitlab.example/acme/shop/-/jobs/9"},
		{map[string]string{"BUILD_URL": "https://jenkins.example/job/shop/3/"}, "jenkins", "https://jenkins.example/job/shop/3/"},
	} {
		p, u, ok := CIJob(func(k string) string { return tc.env[k] })
		if !ok || p != tc.provider || u != tc.link {
			t.Errorf("CIJob(%v) = %q, %q, %v", tc.env, p, u, ok)
		}
	}
	if _, _, ok := CIJob(func(string) string { return "" }); ok {
		t.Error("CIJob found a job outside CI")
	}
}
