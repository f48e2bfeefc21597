package lint

import (
	"fmt"
	"strings"
	"testing"
)

// at is an expected finding of the rule under test.
type at struct {
	sev       string
	line, col int
	object    string
}

type ruleCase struct {
	name string
	src  []string // one manifest line per element, so line numbers read off the index
	want []at
}

// runRule lints the case and compares the findings of rule alone: other
// rules may well fire on a minimal manifest, and have their own tables.
func runRule(t *testing.T, rule string, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			all := Sources(map[string]string{"m.yaml": strings.Join(tc.src, "\n") + "\n"})
			var got []at
			for _, f := range all {
				if f.Rule != rule {
					continue
				}
				if f.File != "m.yaml" || f.Message == "" || f.Hint == "" {
					t.Errorf("finding lacks file, message or hint: %+v", f)
				}
				got = append(got, at{f.Severity, f.Line, f.Col, f.Object})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("want %d %s findings %v, got %v (all: %v)", len(tc.want), rule, tc.want, got, all)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("finding %d: want %+v, got %+v", i, tc.want[i], got[i])
				}
			}
		})
	}
}

// svc is a Service selecting app=web, appended to cases that need one.
var svc = []string{"---", "kind: Service", "metadata: {name: web}", "spec:", "  selector: {app: web}"}

func with(a ...[]string) []string {
	var out []string
	for _, x := range a {
		out = append(out, x...)
	}
	return out
}

func TestRuleReadinessProbe(t *testing.T) {
	deploy := []string{
		"kind: Deployment", // 1
		"metadata: {name: web}",
		"spec:",
		"  template:",
		"    metadata: {labels: {app: web}}", // 5
		"    spec:",
		"      containers:",
		"        - name: web", // 8
		"          ports: [{containerPort: 80}]",
		"        - name: logs", // 10
	}
	runRule(t, "readiness-probe", []ruleCase{
		{"selected by a Service: error per container", with(deploy, svc), []at{
			{SevError, 8, 11, "Deployment/web"}, {SevError, 10, 11, "Deployment/web"}}},
		{"no Service: warning", deploy, []at{
			{SevWarning, 8, 11, "Deployment/web"}, {SevWarning, 10, 11, "Deployment/web"}}},
		{"port-less sidecar next to a probed container is exempt", with(deploy[:9], []string{
			"          readinessProbe: {tcpSocket: {port: 80}}",
			"        - name: logs",
		}, svc), nil},
		{"bare Pod with a port", []string{
			"apiVersion: v1",
			"kind: Pod",
			"metadata: {name: p, labels: {app: web}}",
			"spec:",
			"  containers: [{name: p, image: x, ports: [{containerPort: 80}]}]", // the container node is the flow mapping at col 16
		}, []at{{SevWarning, 5, 16, "Pod/p"}}},
		{"no Service, no port: it serves nothing (a load generator)", []string{
			"kind: Deployment",
			"metadata: {name: loadgenerator}",
			"spec:",
			"  template:",
			"    metadata: {labels: {app: loadgenerator}}",
			"    spec:",
			"      containers: [{name: main, image: loadgen}]",
		}, nil},
		{"a Service selects it, no port declared: still an error", with([]string{
			"kind: Deployment",
			"metadata: {name: web}",
			"spec:",
			"  template:",
			"    metadata: {labels: {app: web}}",
			"    spec:",
			"      containers: [{name: main, image: web}]",
		}, svc), []at{{SevError, 7, 20, "Deployment/web"}}},
		{"Jobs are not checked", []string{
			"kind: Job",
			"metadata: {name: j}",
			"spec: {template: {spec: {containers: [{name: j}]}}}",
		}, nil},
	})
}

func TestRulePreStopHook(t *testing.T) {
	deploy := []string{
		"kind: Deployment",
		"metadata: {name: web}",
		"spec:",
		"  replicas: 2",
		"  template:",
		"    metadata: {labels: {app: web}}",
		"    spec:",
		"      containers:",
		"        - name: web", // 9
	}
	runRule(t, "prestop-hook", []ruleCase{
		{"selected, no hook: points at the first container", with(deploy, svc), []at{{SevWarning, 9, 11, "Deployment/web"}}},
		{"not selected by any Service", deploy, nil},
		{"one container has a hook", with(deploy, []string{
			"          lifecycle: {preStop: {sleep: {seconds: 5}}}",
		}, svc), nil},
		{"selector in another namespace", with(deploy, []string{
			"---", "kind: Service", "metadata: {name: web, namespace: a}", "spec: {selector: {app: web}}",
			"---", "kind: Deployment", "metadata: {name: other, namespace: b}",
			"spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}}",
		}), []at{{SevWarning, 9, 11, "Deployment/web"}}},
	})
}

func TestRuleGracePeriod(t *testing.T) {
	pod := func(grace string, lifecycle ...string) []string {
		src := []string{
			"kind: Deployment",
			"metadata: {name: web}",
			"spec:",
			"  template:",
			"    spec:", // 5
		}
		if grace != "" {
			src = append(src, "      terminationGracePeriodSeconds: "+grace) // 6
		}
		src = append(src, "      containers:", "        - name: web")
		return append(src, lifecycle...)
	}
	runRule(t, "grace-period", []ruleCase{
		{"sh -c sleep equal to the grace period: points at the grace field",
			pod("10", `          lifecycle: {preStop: {exec: {command: ["sh", "-c", "sleep 10"]}}}`),
			[]at{{SevError, 6, 7, "Deployment/web"}}},
		{"native sleep above the default 30: points at preStop",
			pod("", "          lifecycle:", "            preStop:", "              sleep: {seconds: 40}"),
			[]at{{SevError, 9, 13, "Deployment/web"}}},
		{"sleeps in a script add up",
			pod("20", `          lifecycle: {preStop: {exec: {command: ["/bin/bash", "-c", "sleep 15; nginx -s quit; sleep 5s"]}}}`),
			[]at{{SevError, 6, 7, "Deployment/web"}}},
		{"direct /bin/sleep with a minute suffix",
			pod("45", `          lifecycle: {preStop: {exec: {command: ["/bin/sleep", "1m"]}}}`),
			[]at{{SevError, 6, 7, "Deployment/web"}}},
		{"grace above the sleep", pod("31", `          lifecycle: {preStop: {exec: {command: ["sh", "-c", "sleep 30"]}}}`), nil},
		{"sleep read at run time is not judged", pod("5", `          lifecycle: {preStop: {exec: {command: ["sh", "-c", "sleep $DELAY"]}}}`), nil},
		{"httpGet hook is not judged", pod("1", `          lifecycle: {preStop: {httpGet: {path: /drain, port: 80}}}`), nil},
	})
}

func TestRuleMaxUnavailable(t *testing.T) {
	deploy := func(replicas string, rolling ...string) []string {
		src := []string{"kind: Deployment", "metadata: {name: web}", "spec:"}
		if replicas != "" {
			src = append(src, "  replicas: "+replicas) // 4
		}
		if len(rolling) > 0 {
			src = append(src, "  strategy:", "    rollingUpdate:")
			for _, r := range rolling {
				src = append(src, "      "+r)
			}
		}
		return src
	}
	runRule(t, "max-unavailable", []ruleCase{
		{"maxUnavailable equals replicas", deploy("2", "maxSurge: 1", "maxUnavailable: 2"),
			[]at{{SevError, 8, 7, "Deployment/web"}}},
		{"100%", deploy("10", `maxUnavailable: "100%"`), []at{{SevError, 7, 7, "Deployment/web"}}},
		{"50% of 2 rounds to 1, fine", deploy("2", `maxUnavailable: 50%`), nil},
		{"maxSurge 0 with one replica forces one unavailable: points at maxSurge",
			deploy("", "maxSurge: 0"), []at{{SevError, 6, 7, "Deployment/web"}}},
		{"defaults with one replica surge instead", deploy(""), nil},
		{"Recreate is not a rolling update", []string{
			"kind: Deployment", "metadata: {name: web}", "spec:", "  strategy: {type: Recreate}"}, nil},
		{"StatefulSet maxUnavailable above replicas", []string{
			"kind: StatefulSet", "metadata: {name: db}", "spec:", "  replicas: 3",
			"  updateStrategy:", "    rollingUpdate: {maxUnavailable: 3}",
		}, []at{{SevError, 6, 21, "StatefulSet/db"}}},
		{"DaemonSet 100%", []string{
			"kind: DaemonSet", "metadata: {name: agent}", "spec:",
			"  updateStrategy: {rollingUpdate: {maxUnavailable: 100%}}",
		}, []at{{SevError, 4, 36, "DaemonSet/agent"}}},
	})
}

func TestRuleRollingUpdateInvalid(t *testing.T) {
	runRule(t, "rolling-update-invalid", []ruleCase{
		{"both zero", []string{
			"kind: Deployment", "metadata: {name: web}", "spec:", "  replicas: 3", "  strategy:",
			"    rollingUpdate:", "      maxSurge: 0", `      maxUnavailable: "0%"`,
		}, []at{{SevError, 8, 7, "Deployment/web"}}},
		{"surge only", []string{
			"kind: Deployment", "metadata: {name: web}", "spec:", "  replicas: 3", "  strategy:",
			"    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}",
		}, nil},
	})
}

func TestRuleSingleReplica(t *testing.T) {
	runRule(t, "single-replica", []ruleCase{
		{"replicas: 1 points at the field", []string{
			"kind: Deployment", "metadata: {name: web}", "spec:", "  replicas: 1",
		}, []at{{SevWarning, 4, 3, "Deployment/web"}}},
		{"unset points at kind", []string{
			"apiVersion: apps/v1", "kind: StatefulSet", "metadata: {name: db}", "spec: {}",
		}, []at{{SevWarning, 2, 1, "StatefulSet/db"}}},
		{"zero is scaled down on purpose", []string{"kind: Deployment", "metadata: {name: web}", "spec: {replicas: 0}"}, nil},
		{"an HPA with minReplicas 3 decides", []string{
			"kind: Deployment", "metadata: {name: web}", "spec: {}", "---",
			"kind: HorizontalPodAutoscaler", "metadata: {name: web}",
			"spec: {scaleTargetRef: {kind: Deployment, name: web}, minReplicas: 3}",
		}, nil},
		{"an HPA with default minReplicas: points at the HPA", []string{
			"kind: Deployment", "metadata: {name: web}", "spec: {replicas: 4}", "---",
			"kind: HorizontalPodAutoscaler", "metadata: {name: web-hpa}",
			"spec: {scaleTargetRef: {kind: Deployment, name: web}}",
		}, []at{{SevWarning, 5, 1, "HorizontalPodAutoscaler/web-hpa"}}},
	})
}

func TestRuleSelectorMatchesMany(t *testing.T) {
	colour := func(c string) []string {
		return []string{"---", "kind: Deployment", "metadata: {name: web-" + c + "}",
			"spec: {template: {metadata: {labels: {app: web, colour: " + c + "}}}}"}
	}
	service := func(sel string) []string {
		return []string{"kind: Service", "metadata: {name: web}", "spec:", "  selector: " + sel} // selector at 4:3
	}
	runRule(t, "selector-matches-many", []ruleCase{
		{"app=web matches both colours", with(service("{app: web}"), colour("blue"), colour("green")),
			[]at{{SevError, 4, 3, "Service/web"}}},
		{"colour in the selector picks one", with(service("{app: web, colour: blue}"), colour("blue"), colour("green")), nil},
		{"no selector", with([]string{"kind: Service", "metadata: {name: ext}", "spec: {type: ExternalName}"}, colour("blue"), colour("green")), nil},
	})
}

func TestParseErrorIsAFinding(t *testing.T) {
	fs := Sources(map[string]string{"bad.yaml": "kind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: 1\n---\nkind: [unclosed\n"})
	var parse, before *Finding
	for i := range fs {
		switch fs[i].Rule {
		case "parse":
			parse = &fs[i]
		case "single-replica":
			before = &fs[i]
		}
	}
	// yaml.v3 names the line it noticed the problem on, which for an
	// unclosed flow sequence may be the line before it.
	if parse == nil || parse.Severity != SevError || parse.Line < 5 || parse.Line > 6 || strings.Contains(parse.Message, "line ") {
		t.Fatalf("want a parse error at bad.yaml:5 or 6 without the line repeated in the message, got %+v", fs)
	}
	// The parser gives no column: the line's text starts it ("---" at 1,
	// "kind: [unclosed" at 1).
	if parse.Col != 1 {
		t.Fatalf("want the parse error at column 1 (where line %d's text starts), got %+v", parse.Line, parse)
	}
	if before == nil || before.Line != 4 {
		t.Fatalf("the document before the error should still be linted (single-replica at 4), got %+v", fs)
	}
}

// TestParseErrorColumn: the parser names a line (the one it noticed the
// problem on, for a parser error the line before the construct it was in)
// and no column; the column is where that line's text starts, after its
// indenting spaces.
func TestParseErrorColumn(t *testing.T) {
	for _, c := range []struct {
		name, src string
		line, col int
	}{
		{"unclosed flow mapping", "kind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 80\n      selector: {app: web\n  type: ClusterIP\n", 6, 5},
		{"tab in the indentation", "kind: Service\nmetadata:\n  name: web\n\tlabels: {}\n", 3, 3},
		{"unterminated string", "kind: Service\nmetadata: {name: \"web}\n", 2, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := Sources(map[string]string{"bad.yaml": c.src})
			if len(fs) != 1 || fs[0].Rule != "parse" || fs[0].Line != c.line || fs[0].Col != c.col {
				t.Fatalf("want one parse finding at bad.yaml:%d:%d, got %+v", c.line, c.col, fs)
			}
			if want := fmt.Sprintf("bad.yaml:%d:%d: error: not valid YAML: ", c.line, c.col); !strings.HasPrefix(fs[0].String(), want) {
				t.Fatalf("want the line to start %q, got %q", want, fs[0].String())
			}
		})
	}
}

func TestIgnoreAnnotationAndOption(t *testing.T) {
	src := "kind: Deployment\nmetadata:\n  name: web\n  annotations: {lint.cutover.dev/ignore: \"single-replica\"}\nspec: {replicas: 1}\n"
	for _, f := range Sources(map[string]string{"m.yaml": src}) {
		if f.Rule == "single-replica" {
			t.Fatalf("annotation should silence single-replica, got %v", f)
		}
	}
	src = "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n"
	if fs := Lint([]Source{{"m.yaml", []byte(src)}}, Options{Ignore: []string{"single-replica"}}); len(fs) != 0 {
		t.Fatalf("Options.Ignore should silence single-replica, got %v", fs)
	}
}

func TestFormat(t *testing.T) {
	var b strings.Builder
	err := Format(&b, []Finding{{File: "a.yaml", Line: 3, Col: 7, Rule: "grace-period", Severity: SevError, Message: "too short", Hint: "make it longer"}})
	want := "a.yaml:3:7: error: too short [grace-period]\n    hint: make it longer\n"
	if err != nil || b.String() != want {
		t.Fatalf("want %q, got %q (%v)", want, b.String(), err)
	}
}

// Messages name the object and say what was expected and what was seen.
func TestMessagesAreActionable(t *testing.T) {
	src := "kind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 2\n" +
		"  strategy: {rollingUpdate: {maxUnavailable: 2}}\n" +
		"  template:\n    spec:\n      terminationGracePeriodSeconds: 10\n" +
		"      containers: [{name: app, readinessProbe: {}, lifecycle: {preStop: {sleep: {seconds: 12}}}}]\n"
	want := map[string][]string{
		"max-unavailable": {`Deployment "web" in namespace "shop"`, "all 2 of its pods", "maxUnavailable 2 resolves to 2", "replicas: 2"},
		"grace-period":    {`container "app"`, "sleeps 12s", "terminationGracePeriodSeconds is 10"},
	}
	for _, f := range Sources(map[string]string{"m.yaml": src}) {
		for _, s := range want[f.Rule] {
			if !strings.Contains(f.Message, s) {
				t.Errorf("%s message %q lacks %q", f.Rule, f.Message, s)
			}
		}
		delete(want, f.Rule)
	}
	if len(want) != 0 {
		t.Errorf("rules did not fire: %v", want)
	}
}
