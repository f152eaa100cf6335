#!/usr/bin/env bash
# Start-up cost of the process runner: wall time of
# `shunt run --profile READ_ONLY -- /bin/true`, median of N runs, side by
# side with bubblewrap doing the same and with plain fork+exec (the floor).
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHUNT=${SHUNT:-$BUILD/bin/shunt}
N=${BENCH_RUNS:-20}
WORK=$(mktemp -d /tmp/shunt-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export SHUNT_NO_SYSTEM_CONFIG=1

# one timed run of "$@" in microseconds, appended to $WORK/$1.times
time_one() {
	local label=$1 t0 t1
	shift
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "$label FAILED: $*" >&2; echo FAILED >>"$WORK/$label.times"; return; }
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000)) >>"$WORK/$label.times"
}
median() {
	grep -q FAILED "$WORK/$1.times" 2>/dev/null && { echo FAILED; return; }
	sort -n "$WORK/$1.times" | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'
}

cd "$WORK"
have_bwrap=false
command -v bwrap >/dev/null && have_bwrap=true
# interleaved, so background load hits all three alike
for ((i = 0; i < N; i++)); do
	time_one floor /bin/true
	time_one shunt "$SHUNT" run --profile READ_ONLY --workspace "$WORK" -- /bin/true
	$have_bwrap && time_one bwrap bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent /bin/true
done
floor=$(median floor)
shunt=$(median shunt)
bwrap=n/a
$have_bwrap && bwrap=$(median bwrap)
echo "sandbox start-up, median of $N runs (wall time):"
printf '  %-34s %8s us\n' "fork+exec /bin/true (floor)" "$floor"
printf '  %-34s %8s us\n' "shunt run --profile READ_ONLY" "$shunt"
printf '  %-34s %8s us\n' "bwrap --unshare-all" "$bwrap"
case "$shunt$bwrap" in
*FAILED* | *n/a*) echo "  ratio shunt/bwrap: n/a" ;;
*) awk -v s="$shunt" -v b="$bwrap" 'BEGIN {printf "  ratio shunt/bwrap: %.2f (target <= 1.00)\n", s / b}' ;;
esac
