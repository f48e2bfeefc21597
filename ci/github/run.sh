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
	# A major or minor ref (v1, v1.2: the action's moving tags) stands for
	# its newest release.
	local newest
	if newest=$(resolve_release "$want"); then
		echo "cutover $want is release $newest"
		want=$newest
	fi
	if command -v cutover >/dev/null; then
		local have
		have=$(cutover version 2>/dev/null | awk '{print $2}') || have=
		if [[ -z $want || ${have#v} == "${want#v}" ]]; then
			echo "Using $(command -v cutover): cutover $have"
			return
		fi
	fi
	[[ -z $want || $want =~ ^[A-Za-z0-9._/+-]+$ ]] || die "version '$want' is not a version or git ref"
	local bin=${RUNNER_TEMP:-/tmp}/cutover-bin
	mkdir -p "$bin"
	if ! install_release "$want" "$bin"; then
		command -v go >/dev/null || die "no cutover release $want for $(platform) and Go is missing to build it: use a released version (v1.2.3, or v1 / v1.2 for the newest of those), add actions/setup-go before this action, or install cutover and set version: path"
		if [[ -z $want || $want == "${CUTOVER_ACTION_REF:-}" ]]; then
			# The action's own checkout is the source of that ref (or of
			# uses: ./ when there is no ref).
			echo "Building cutover from $GITHUB_ACTION_PATH"
			(cd "$GITHUB_ACTION_PATH" && go build -o "$bin/cutover" ./cmd/cutover)
		else
			echo "Installing github.com/cutoverhq/cutover/cmd/cutover@$want"
			GOBIN=$bin go install "github.com/cutoverhq/cutover/cmd/cutover@$want"
		fi
	fi
	# Later steps of this job find it too.
	[[ -n ${GITHUB_PATH:-} ]] && echo "$bin" >>"$GITHUB_PATH"
	"$bin/cutover" version
}

# platform prints the runner's GOOS_GOARCH, as the release archives name it
# (.goreleaser.yaml).
platform() {
	local os arch
	case ${RUNNER_OS:-$(uname -s)} in
	Linux | linux) os=linux ;;
	macOS | Darwin) os=darwin ;;
	Windows | MINGW* | MSYS* | CYGWIN*) os=windows ;;
	*) os=unknown ;;
	esac
	case ${RUNNER_ARCH:-$(uname -m)} in
	X64 | x86_64 | amd64) arch=amd64 ;;
	ARM64 | aarch64 | arm64) arch=arm64 ;;
	*) arch=unknown ;;
	esac
	echo "${os}_$arch"
}

sha256() {
	if command -v sha256sum >/dev/null; then
		sha256sum "$1" | awk '{print $1}'
	else
		shasum -a 256 "$1" | awk '{print $1}'
	fi
}

# resolve_release REF: for a major (v1) or minor (v1.2) ref, print the
# newest release it covers (v1.4.2). Returns 1 for any other ref, and when
# the release list cannot be read or holds none (the caller then builds
# the ref). The list is GitHub's releases API, newest first, drafts left
# out; a prerelease (v1.5.0-rc.1) never matches. CUTOVER_RELEASE_INDEX
# replaces its URL (a mirror, or file:///…/releases.json in tests); the
# job's token is sent to GitHub only, for the higher rate limit.
resolve_release() {
	local ref=${1#v} next
	if [[ $ref =~ ^[0-9]+$ ]]; then
		next='[0-9]+\.[0-9]+'
	elif [[ $ref =~ ^[0-9]+\.[0-9]+$ ]]; then
		next='[0-9]+'
	else
		return 1
	fi
	local index=${CUTOVER_RELEASE_INDEX:-https://api.github.com/repos/cutoverhq/cutover/releases?per_page=100}
	local -a auth=()
	if [[ -z ${CUTOVER_RELEASE_INDEX:-} && -n ${GITHUB_TOKEN:-} ]]; then
		auth=(-H "Authorization: Bearer $GITHUB_TOKEN")
	fi
	local list found
	# ${auth[@]+…}: an empty array is "unbound" to bash 3 (macOS) under set -u.
	if ! list=$(curl -fsSL --retry 3 ${auth[@]+"${auth[@]}"} "$index" 2>/dev/null); then
		echo "Cannot read the list of cutover releases at ${index%%\?*}" >&2
		return 1
	fi
	found=$(grep -oE '"tag_name": *"v?[0-9]+\.[0-9]+\.[0-9]+"' <<<"$list" |
		sed -E 's/.*"v?([0-9.]+)"$/\1/' |
		grep -E "^${ref//./\\.}\.$next\$" |
		sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1) || true
	if [[ -z $found ]]; then
		echo "No cutover release matches $1 at ${index%%\?*}" >&2
		return 1
	fi
	echo "v$found"
}

# install_release VERSION DIR: put the released binary for this runner in
# DIR after checking the archive against the release's checksums file.
# Returns 1 when there is no such release (not a version, or nothing
# published for this platform): the caller builds instead. A checksum that
# does not match is fatal, never a reason to fall back.
# CUTOVER_RELEASE_URL replaces the GitHub releases base (a mirror, or a
# local directory as file:///… in tests).
install_release() {
	local want=$1 dir=$2
	[[ $want =~ ^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || return 1
	local ver=${want#v} plat ext=tar.gz exe=cutover
	plat=$(platform)
	[[ $plat == *unknown* ]] && return 1
	if [[ $plat == windows_* ]]; then ext=zip exe=cutover.exe; fi
	local base=${CUTOVER_RELEASE_URL:-https://github.com/cutoverhq/cutover/releases/download}/v$ver
	local archive=cutover_${ver}_$plat.$ext sums=cutover_${ver}_checksums.txt
	local tmp
	tmp=$(mktemp -d "${RUNNER_TEMP:-/tmp}/cutover-release.XXXXXX")
	if ! curl -fsSL --retry 3 -o "$tmp/$sums" "$base/$sums" 2>/dev/null ||
		! curl -fsSL --retry 3 -o "$tmp/$archive" "$base/$archive" 2>/dev/null; then
		echo "No cutover release v$ver for $plat at $base"
		rm -rf "$tmp"
		return 1
	fi
	local expected got
	expected=$(awk -v f="$archive" '$2 == f || $2 == "*" f {print $1}' "$tmp/$sums")
	[[ -n $expected ]] || die "$sums of release v$ver has no line for $archive"
	got=$(sha256 "$tmp/$archive")
	[[ $got == "$expected" ]] || die "checksum mismatch for $archive: $sums says $expected, the download is $got; not installed"
	# set -e does not hold in a function called as a condition: each step
	# checks its own failure.
	mkdir "$tmp/x" || die "cannot create $tmp/x"
	if [[ $ext == zip ]]; then
		unzip -q -o "$tmp/$archive" "$exe" -d "$tmp/x" || die "cannot unpack $archive"
	else
		tar -xzf "$tmp/$archive" -C "$tmp/x" "$exe" || die "cannot unpack $archive"
	fi
	mv -f "$tmp/x/$exe" "$dir/$exe" && chmod +x "$dir/$exe" || die "cannot install $exe into $dir"
	rm -rf "$tmp"
	echo "Installed cutover v$ver ($plat) from $base, sha256 $got verified"
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
# Only the first signal is passed on: cutover is undoing after it, within
# --grace, and in CI (GITHUB_ACTIONS) it would only note a second one. Not
# passing the runner's SIGTERM on keeps that undo safe even from a cutover
# that took itself for a terminal (where ^C twice means "exit at once").
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
