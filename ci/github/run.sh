#!/usr/bin/env bash
# The steps of the cutover GitHub Action (action.yml). Inputs arrive as
# INPUT_* environment variables and are only ever used as whole arguments:
# nothing here evaluates user text, so a variable value like `$(rm -rf ~)`
# reaches cutover as those characters.
#
#   run.sh install   put cutover on PATH (the version asked, or the action's ref)
#   run.sh run       build the argv from the inputs and run `cutover run`,
#                    passing the runner's cancel signal on to it
set -euo pipefail

die() {
	# ::error:: makes the message an annotation on the run's page.
	echo "::error title=cutover action::$*"
	exit 2
}

# lines VAR: the non-blank lines of a multi-line input, with a Windows \r and
# leading blanks removed (YAML block scalars keep neither, but copy-paste does).
lines() {
	local line
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		line=${line#"${line%%[![:space:]]*}"}
		[[ -n $line ]] && printf '%s\n' "$line"
	done <<<"${1-}"
}

install() {
	local want=${INPUT_VERSION:-${CUTOVER_ACTION_REF:-}}
	if [[ $want == path ]]; then
		command -v cutover >/dev/null || die "version is 'path' but there is no cutover on PATH"
		echo "Using $(command -v cutover): $(cutover version)"
		return
	fi
	if command -v cutover >/dev/null; then
		local have
		have=$(cutover version 2>/dev/null | awk '{print $2}') || have=
		if [[ -z $want || $have == "$want" || $have == "v$want" ]]; then
			echo "Using $(command -v cutover): cutover $have"
			return
		fi
	fi
	command -v go >/dev/null || die "cutover is not on PATH and Go is missing: add actions/setup-go before this action, or install cutover and set version: path"
	local bin=${RUNNER_TEMP:-/tmp}/cutover-bin
	mkdir -p "$bin"
	if [[ -z $want ]]; then
		# The action was used from a checkout (uses: ./): build that source.
		echo "Building cutover from $GITHUB_ACTION_PATH"
		(cd "$GITHUB_ACTION_PATH" && go build -o "$bin/cutover" ./cmd/cutover)
	else
		[[ $want =~ ^[A-Za-z0-9._/+-]+$ ]] || die "version '$want' is not a version or git ref"
		echo "Installing github.com/cutoverhq/cutover/cmd/cutover@$want"
		GOBIN=$bin go install "github.com/cutoverhq/cutover/cmd/cutover@$want"
	fi
	# Later steps of this job find it too.
	[[ -n ${GITHUB_PATH:-} ]] && echo "$bin" >>"$GITHUB_PATH"
	"$bin/cutover" version
}

run() {
	local -a argv=(run)
	local line n=0
	while IFS= read -r line; do
		n=$((n + 1))
		# The line itself is not shown: it may hold a secret.
		[[ $line == [A-Za-z_]*=* ]] || die "vars: line $n is not name=value"
		argv+=(-var "$line")
	done < <(lines "${INPUT_VARS-}")
	while IFS= read -r line; do
		argv+=(-var-file "$line")
	done < <(lines "${INPUT_VAR_FILES-}")

	if [[ -n ${INPUT_KUBECONFIG-} && -n ${INPUT_KUBECONFIG_PATH-} ]]; then
		die "give kubeconfig or kubeconfig-path, not both"
	fi
	if [[ -n ${INPUT_KUBECONFIG-} ]]; then
		# Global, not local: the EXIT trap runs after run() has returned.
		# umask first: the file never exists with wider permissions.
		KUBECONFIG_FILE=$(umask 077 && mktemp "${RUNNER_TEMP:-/tmp}/kubeconfig.XXXXXX")
		trap 'rm -f -- "${KUBECONFIG_FILE-}"' EXIT
		printf '%s\n' "$INPUT_KUBECONFIG" >"$KUBECONFIG_FILE"
		chmod 600 "$KUBECONFIG_FILE"
		argv+=(--kubeconfig "$KUBECONFIG_FILE")
	elif [[ -n ${INPUT_KUBECONFIG_PATH-} ]]; then
		argv+=(--kubeconfig "$INPUT_KUBECONFIG_PATH")
	fi
	[[ -n ${INPUT_CONTEXT-} ]] && argv+=(--context "$INPUT_CONTEXT")
	[[ -n ${INPUT_NAMESPACE-} ]] && argv+=(--namespace "$INPUT_NAMESPACE")
	case ${INPUT_DRY_RUN:-false} in
	true | server) argv+=(--dry-run=server) ;;
	false | none | "") ;;
	*) die "dry-run must be true or false, not '$INPUT_DRY_RUN'" ;;
	esac
	while IFS= read -r line; do
		argv+=("$line")
	done < <(lines "${INPUT_ARGS-}")

	local pipeline=${INPUT_PIPELINE:-.}
	[[ $pipeline == -* ]] && pipeline=./$pipeline

	# cutover writes result, run-id and outputs to $GITHUB_OUTPUT itself.
	# Not exec: the EXIT trap must remove the kubeconfig after cutover exits.
	supervise cutover "${argv[@]}" "$pipeline"
}

# supervise CMD...: run CMD and return its exit status, passing the runner's
# cancel on to it. When a job is cancelled, the runner signals only this
# step's top process (this script: action.yml execs it): SIGINT, then
# SIGTERM 7.5s later, then SIGKILL 2.5s after that. bash would not pass a
# signal on to a foreground child, and runs a trap only once that child has
# exited; so CMD runs in the background and bash waits with the `wait`
# builtin, which a trapped signal interrupts.
#
# Only the first signal is passed on. cutover reads a second one as "exit
# at once, stop undoing" (a person pressing ^C twice); the runner's SIGTERM
# is its schedule, not a person, and cutover gets more undo time without it.
supervise() {
	CHILD_PID= FORWARDED=
	trap 'forward INT' INT
	trap 'forward TERM' TERM
	"$@" &
	CHILD_PID=$!
	# A signal that came while CMD was being started is passed on now.
	[[ -z $FORWARDED ]] || kill -s "$FORWARDED" "$CHILD_PID" 2>/dev/null || true
	local code=0 prev
	while :; do
		SIGNALLED=
		prev=$code
		code=0
		wait "$CHILD_PID" || code=$?
		# A wait a trapped signal interrupted returns 128+signal with
		# SIGNALLED set; then the child is still running: wait again.
		[[ -n $SIGNALLED ]] && ((code > 128)) || break
	done
	# A bash that forgets a status once reported answers 127 to the second
	# wait; the status was the previous answer.
	if ((code == 127)) && [[ -n $FORWARDED ]] && ! kill -0 "$CHILD_PID" 2>/dev/null; then
		code=$prev
	fi
	trap - INT TERM
	return "$code"
}

forward() {
	SIGNALLED=1
	if [[ -z $FORWARDED ]]; then
		FORWARDED=$1
		echo "cutover action: SIG$1 received, passing it on to cutover, which undoes what this run changed" >&2
		[[ -z $CHILD_PID ]] || kill -s "$1" "$CHILD_PID" 2>/dev/null || true
	else
		echo "cutover action: SIG$1 received, not passed on: cutover is already stopping after SIG$FORWARDED" >&2
	fi
}

case ${1-} in
install) install ;;
run) run ;;
*) die "usage: run.sh install|run" ;;
esac
