package lint

import (
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// checkReadiness: without a readinessProbe a container counts as ready the
// moment it starts, so a Service routes requests to it while the app is
// still initialising, and a rollout moves on before the new pods work.
// The first hurts traffic (error when a Service selects the pods); the
// second only the rollout's judgement (warning when no Service in the
// manifests selects them but a container declares a port: its Service may
// live elsewhere). A pod that neither a Service selects nor declares a port
// serves nothing (a worker, a load generator): readiness means nothing to it.
func checkReadiness(s *set) []Finding {
	var out []Finding
	for _, w := range s.workloads() {
		sev, why := SevWarning, "a rollout counts its pods as ready as soon as they start"
		if svcs := s.selectedBy[w]; len(svcs) > 0 {
			sev, why = SevError, fmt.Sprintf("Service %q sends it requests as soon as it starts, before the app can serve them", svcs[0].name)
		} else if !declaresPort(w.template) {
			continue
		}
		probed := false
		for _, c := range w.template.containers {
			if path(c, "readinessProbe") != nil {
				probed = true
			}
		}
		for _, c := range w.template.containers {
			if path(c, "readinessProbe") != nil {
				continue
			}
			// A port-less helper (log shipper, proxy agent) next to a probed
			// main container does not decide when the pod can serve.
			if probed && path(c, "ports") == nil {
				continue
			}
			out = append(out, w.at(c, "readiness-probe", sev,
				fmt.Sprintf("container %q of %s has no readinessProbe; %s", str(path(c, "name")), w.where(), why),
				"add a readinessProbe that succeeds only once the app serves requests (e.g. httpGet on a /ready endpoint)"))
		}
	}
	return out
}

// declaresPort says whether a container of the pod lists ports: a sign the
// pod serves, though a Service need not name them.
func declaresPort(t *podTemplate) bool {
	for _, c := range t.containers {
		if len(items(path(c, "ports"))) > 0 {
			return true
		}
	}
	return false
}

// checkPreStop: when a pod is deleted, its removal from the Service's
// endpoints and the SIGTERM to its containers happen at the same time;
// proxies keep sending it requests for a moment after it stopped. A preStop
// sleep keeps it serving until every proxy has caught up.
func checkPreStop(s *set) []Finding {
	var out []Finding
	for _, w := range s.workloads() {
		svcs := s.selectedBy[w]
		if len(svcs) == 0 || len(w.template.containers) == 0 {
			continue
		}
		if hasPreStop(w.template) {
			continue
		}
		first := w.template.containers[0]
		out = append(out, w.at(first, "prestop-hook", SevWarning,
			fmt.Sprintf("no container of %s has a preStop hook; Service %q keeps sending requests to a terminating pod until its endpoints update, and they fail", w.where(), svcs[0].name),
			`add lifecycle.preStop to the serving container, e.g. sleep: {seconds: 10} or exec: {command: ["sh", "-c", "sleep 10"]}, and keep terminationGracePeriodSeconds above it`))
	}
	return out
}

func hasPreStop(t *podTemplate) bool {
	for _, c := range t.containers {
		if path(c, "lifecycle", "preStop") != nil {
			return true
		}
	}
	return false
}

// preStopSleep is the number of seconds a container's preStop hook sleeps:
// the native `sleep: {seconds: N}` handler, or every `sleep N` in an exec
// command (a direct sleep, or sleeps inside an `sh -c` script). ok is false
// when the hook does not sleep or sleeps for a time read at run time.
func preStopSleep(c *yaml.Node) (secs float64, ok bool) {
	pre := path(c, "lifecycle", "preStop")
	if n, found := integer(path(pre, "sleep", "seconds")); found {
		return float64(n), true
	}
	var argv []string
	for _, a := range items(path(pre, "exec", "command")) {
		argv = append(argv, str(a))
	}
	if len(argv) == 0 {
		return 0, false
	}
	if isShell(argv[0]) {
		for i := 1; i+1 < len(argv); i++ {
			if strings.HasPrefix(argv[i], "-") && strings.Contains(argv[i], "c") {
				return scriptSleep(argv[i+1])
			}
		}
		return 0, false
	}
	return scriptSleep(strings.Join(argv, " "))
}

func isShell(arg0 string) bool {
	switch arg0[strings.LastIndex(arg0, "/")+1:] {
	case "sh", "bash", "ash", "dash", "zsh", "ksh":
		return true
	}
	return false
}
