#!/usr/bin/env bash
# Start-up cost of the process runner: wall time of
# `shunt run --profile READ_ONLY -- /bin/true`, median of N runs, side by
# side with bubblewrap doing the same and with plain fork+exec (the floor).
# As root it runs a second time as an unprivileged user (no cgroups, so
# rlimits), which is how most people run it.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHUNT=${SHUNT:-$BUILD/bin/shunt}
N=${BENCH_RUNS:-20}
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
export SHUNT_NO_SYSTEM_CONFIG=1

# $1 = shunt binary, $2 = label; prints the table
measure() {
	local shunt=$1 who=$2 work
	work=$(mktemp -d /tmp/shunt-bench.XXXXXX)
	cd "$work" || return 1
	have_bwrap=false
	command -v bwrap >/dev/null && have_bwrap=true
	# one timed run of "$@" in microseconds, appended to $work/$1.times
	time_one() {
		local label=$1 t0 t1
		shift
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || { echo "$label FAILED: $*" >&2; echo FAILED >>"$work/$label.times"; return; }
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) >>"$work/$label.times"
	}
	# "p25 median p75" in microseconds
	quartiles() {
		grep -q FAILED "$work/$1.times" 2>/dev/null && { echo FAILED; return; }
		sort -n "$work/$1.times" | awk '{a[NR]=$1} END {
			q1 = a[int((NR + 3) / 4)]; q3 = a[int((3 * NR + 3) / 4)]
			m = (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)
			print q1, m, q3 }'
	}
	# interleaved, so background load hits all three alike
	for ((i = 0; i < N; i++)); do
		time_one floor /bin/true
		time_one shunt "$shunt" run --profile READ_ONLY --workspace "$work" -- /bin/true
		$have_bwrap && time_one bwrap bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent /bin/true
	done
	local floor shunt bwrap=n/a
	floor=$(quartiles floor)
	shunt=$(quartiles shunt)
	$have_bwrap && bwrap=$(quartiles bwrap)
	echo "sandbox start-up as $who, median of $N runs (wall time; p25-p75 in brackets):"
	row() { printf '  %-34s %8s us  [%s-%s]\n' "$1" "$3" "$2" "$4"; }
	row "fork+exec /bin/true (floor)" $floor
	row "shunt run --profile READ_ONLY" $shunt
	[ "$bwrap" = n/a ] && printf '  %-34s %8s\n' "bwrap --unshare-all" n/a || row "bwrap --unshare-all" $bwrap
	case "$shunt$bwrap" in
	*FAILED* | *n/a*) echo "  ratio shunt/bwrap: n/a" ;;
	*) awk -v s="$(echo $shunt | cut -d' ' -f2)" -v b="$(echo $bwrap | cut -d' ' -f2)" \
		'BEGIN {printf "  ratio shunt/bwrap: %.2f (target <= 1.00)\n", s / b}' ;;
	esac
	cd / && rm -rf "$work"
}

if [ "${1-}" = --as-user ]; then
	measure "$2" "$(id -un)"
	exit 0
fi
measure "$SHUNT" "$(id -un)$([ "$(id -u)" = 0 ] && echo ' (cgroup v1/v2 limits)')"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	copy=$(mktemp -d /tmp/shunt-bench-user.XXXXXX)
	cp "$SHUNT" "$copy/shunt" && cp "$SELF" "$copy/sandbox.sh"
	chmod -R a+rX "$copy" && chmod 755 "$copy"
	setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env \
		env HOME=/tmp PATH=/usr/local/bin:/usr/bin:/bin BENCH_RUNS="$N" \
		bash "$copy/sandbox.sh" --as-user "$copy/shunt"
	rm -rf "$copy"
fi
