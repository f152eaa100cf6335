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

# median wall time in microseconds of N runs of "$@"
median_us() {
	local i t0 t1
	: >"$WORK/times"
	for ((i = 0; i < N; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || { echo "FAILED"; return 1; }
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) >>"$WORK/times"
	done
	sort -n "$WORK/times" | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'
}

cd "$WORK"
floor=$(median_us /bin/true)
shunt=$(median_us "$SHUNT" run --profile READ_ONLY --workspace "$WORK" -- /bin/true)
if command -v bwrap >/dev/null; then
	bwrap=$(median_us bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent /bin/true)
else
	bwrap="n/a"
fi
echo "sandbox start-up, median of $N runs (wall time):"
printf '  %-34s %8s us\n' "fork+exec /bin/true (floor)" "$floor"
printf '  %-34s %8s us\n' "shunt run --profile READ_ONLY" "$shunt"
printf '  %-34s %8s us\n' "bwrap --unshare-all" "$bwrap"
case "$shunt$bwrap" in
*FAILED* | *n/a*) echo "  ratio shunt/bwrap: n/a" ;;
*) awk -v s="$shunt" -v b="$bwrap" 'BEGIN {printf "  ratio shunt/bwrap: %.2f (target <= 1.00)\n", s / b}' ;;
esac
