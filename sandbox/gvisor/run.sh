#!/usr/bin/env bash
# sandbox/gvisor/run.sh [--network=none|allowlist] [--uid N] [--gid N]
#     [--seccomp-profile FILE] [--profile P] [--dry-run] <mount> <cmd...>
#
# Runs <cmd> under gVisor with <mount> as the workspace, read-only or
# read-write per the profile (--profile, else $SHUNT_PROFILE, else the
# config's default). A thin front end to `shunt run --runtime gvisor`:
# every decision is shunt's. With --dry-run, or when runsc is missing,
# it prints the resolved plan instead of running and exits 0.
set -u
usage() {
	sed -n '2,3p' "$0" | sed 's/^# \{0,1\}/usage: /;2s/^usage: /       /' >&2
	exit 2
}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shunt=${SHUNT_BIN:-}
if [ -z "$shunt" ]; then
	for c in "$here/../../build/bin/shunt" "$(command -v shunt 2>/dev/null)"; do
		[ -n "$c" ] && [ -x "$c" ] && { shunt=$c; break; }
	done
fi
[ -n "$shunt" ] || { echo "run.sh: shunt not found (build it, put it in PATH, or set SHUNT_BIN)" >&2; exit 125; }

args=() profile=${SHUNT_PROFILE:-} dry=0
while [ $# -gt 0 ]; do
	case $1 in
	--network=*) args+=(--network "${1#*=}") ;;
	--network) [ $# -ge 2 ] || usage; args+=(--network "$2"); shift ;;
	--uid | --gid | --seccomp-profile) [ $# -ge 2 ] || usage; args+=("$1" "$2"); shift ;;
	--uid=* | --gid=* | --seccomp-profile=*) args+=("${1%%=*}" "${1#*=}") ;;
	--profile) [ $# -ge 2 ] || usage; profile=$2; shift ;;
	--profile=*) profile=${1#*=} ;;
	--dry-run) dry=1 ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 2 ] || usage
mount=$1
shift
[ -d "$mount" ] || { echo "run.sh: $mount is not a directory" >&2; exit 2; }
[ -n "$profile" ] && args+=(--profile "$profile")

runsc=${SHUNT_RUNSC:-$(command -v runsc 2>/dev/null)}
if [ "$dry" = 0 ] && { [ -z "$runsc" ] || [ ! -x "$runsc" ]; }; then
	echo "run.sh: runsc (gVisor) is not installed (apt-get install runsc); the plan it would run:" >&2
	dry=1
fi
[ "$dry" = 1 ] && args+=(--dry-run)
cd "$mount" || exit 2
exec "$shunt" run --runtime gvisor --workspace "$(pwd -P)" "${args[@]}" -- "$@"
