package report

import (
	"io"
	"os"

	"golang.org/x/term"

	"github.com/cutoverhq/cutover/events"
)

// ForEnvironment chooses the renderers for where cutover runs:
//
//   - opts.Format "json": JSON lines on stdout (on GitHub/GitLab the outputs
//     files are still written, without decorating stdout);
//   - GITHUB_ACTIONS=true: the GitHub renderer;
//   - GITLAB_CI=true: the GitLab renderer;
//   - stdout a terminal, CI unset, TERM not "dumb": the live view;
//   - otherwise plain text lines.
//
// Colors only on a terminal with NO_COLOR unset and TERM not "dumb". opts.JUnit and
// opts.Summary add those files. Call Close on the result when the command
// ends.
func ForEnvironment(stdout io.Writer, env func(string) string, opts Options) events.Sink {
	tty := isTerminal(stdout)
	opts.Color = tty && Colors(env)
	github := env("GITHUB_ACTIONS") == "true"
	gitlab := env("GITLAB_CI") == "true"
	var sinks events.Multi
	switch {
	case opts.Format == "json":
		sinks = append(sinks, events.Redact(opts.Secrets, NewJSON(stdout)))
		if github {
			sinks = append(sinks, NewGitHub(io.Discard, env, opts))
		}
		if gitlab {
			sinks = append(sinks, NewGitLab(io.Discard, env, opts))
		}
	case github:
		sinks = append(sinks, NewGitHub(stdout, env, opts))
	case gitlab:
		sinks = append(sinks, NewGitLab(stdout, env, opts))
	case tty && env("CI") == "" && env("TERM") != "dumb":
		sinks = append(sinks, NewLive(stdout, opts))
	default:
		sinks = append(sinks, NewText(stdout, opts))
	}
	if opts.JUnit != "" {
		sinks = append(sinks, events.Redact(opts.Secrets, NewJUnit(opts.JUnit)))
	}
	if opts.Summary != "" {
		sinks = append(sinks, events.Redact(opts.Secrets, NewSummary(opts.Summary)))
	}
	if len(sinks) == 1 {
		return sinks[0]
	}
	return sinks
}

// Colors says whether the environment lets a terminal be painted: NO_COLOR
// unset (no-color.org) and TERM not "dumb", which moves no cursor and shows
// escape sequences as text.
func Colors(env func(string) string) bool {
	return env("NO_COLOR") == "" && env("TERM") != "dumb"
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// CIJob names the CI provider and the address of the job's page, when
// cutover runs in GitHub Actions, GitLab CI or Jenkins.
func CIJob(env func(string) string) (provider, url string, ok bool) {
	switch {
	case env("GITHUB_RUN_ID") != "":
		return "github", env("GITHUB_SERVER_URL") + "/" + env("GITHUB_REPOSITORY") + "/actions/runs/" + env("GITHUB_RUN_ID"), true
	case env("CI_JOB_URL") != "":
		return "gitlab", env("CI_JOB_URL"), true
	case env("BUILD_URL") != "":
		return "jenkins", env("BUILD_URL"), true
	}
	return "", "", false
}
