#!/usr/bin/env bash
# shuntd overhead: wall time of `shunt daemon exec -- true` through the
# daemon (decide + plan + process runner, streamed back) against the same
# command in-process (SHUNT_NO_DAEMON=1, i.e. `shunt run`), median of N
# runs, plus the daemon's own start latency from /metrics. No warm pools
# yet: both paths are cold starts.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHUNT=${SHUNT:-$BUILD/bin/shunt}
N=${BENCH_RUNS:-20}
WORK=$(mktemp -d /tmp/shunt-bench.XXXXXX)
export SHUNT_NO_SYSTEM_CONFIG=1 HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/run"
export XDG_CONFIG_HOME="$HOME/.config" XDG_STATE_HOME="$HOME/.local/state" XDG_CACHE_HOME="$HOME/.cache"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
trap '"$SHUNT" daemon stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT
cd "$WORK"

time_one() {
	local label=$1 t0 t1
	shift
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo FAILED >>"$WORK/$label.times"; return; }
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000)) >>"$WORK/$label.times"
}
median() {
	grep -q FAILED "$WORK/$1.times" 2>/dev/null && { echo FAILED; return; }
	sort -n "$WORK/$1.times" | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'
}

"$SHUNT" daemon start >/dev/null || { echo "shuntd did not start"; exit 1; }
for _ in $(seq 1 "$N"); do
	time_one daemon "$SHUNT" daemon exec -- true
	SHUNT_NO_DAEMON=1 time_one inproc "$SHUNT" daemon exec -- true
done
m=$(curl -s --unix-socket "$XDG_RUNTIME_DIR/shunt/shuntd.sock" http://x/metrics 2>/dev/null)
sum=$(printf '%s\n' "$m" | sed -n 's/^shuntd_start_latency_seconds_sum{runtime="process"} //p')
cnt=$(printf '%s\n' "$m" | sed -n 's/^shuntd_start_latency_seconds_count{runtime="process"} //p')
printf 'daemon exec -- true (process runner, via shuntd):   %8s us (median of %d)\n' "$(median daemon)" "$N"
printf 'daemon exec -- true (SHUNT_NO_DAEMON=1, in-process): %8s us (median of %d)\n' "$(median inproc)" "$N"
[ -n "$cnt" ] && [ "$cnt" -gt 0 ] &&
	printf 'shuntd start latency (request -> runner), mean:       %8.0f us over %d runs\n' \
		"$(echo "$sum $cnt" | awk '{print $1 / $2 * 1e6}')" "$cnt"
exit 0
