#!/usr/bin/env bash
# shuntd overhead: wall time of `shunt daemon exec -- true` through the
# daemon (decide + plan + process runner, streamed back) against the same
# command in-process (SHUNT_NO_DAEMON=1), median of N runs, plus the
# daemon's own start latency from /metrics.
# Warm pools: `shunt run --runtime microvm -- true` and the same for
# gvisor, cold (SHUNT_NO_DAEMON=1: in-process, a fresh VM/sandbox) against
# warm (through shuntd, pool.size 1, a pre-booted VM/sandbox), medians and
# the speed-up. Each measured run starts with the pool full and idle (no
# refill booting beside it). Target: warm microVM <= 10 % of cold.
# `shunt exec` of a microVM-routed line: in-process against through shuntd
# (the fd-passing run with a warm VM).
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

mkdir -p "$XDG_CONFIG_HOME/shunt"
cat >"$XDG_CONFIG_HOME/shunt/config.yaml" <<'EOF2'
sandbox:
  network_mode: none
pool:
  microvm: 1
  gvisor: 1
EOF2
export SHUNT_VM_BACKEND=qemu SHUNT_VM_BUILD_SCRIPT="$TOP/sandbox/firecracker/build-guest.sh"
export SHUNT_VM_CACHE=${SHUNT_VM_CACHE:-/var/tmp/shunt-vm-test-cache}
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

SOCK="$XDG_RUNTIME_DIR/shunt/shuntd.sock"
ready() { # RUNTIME: its pool has a VM/sandbox ready and none booting
	curl -s --unix-socket "$SOCK" http://x/v1/pools |
		grep -q "{\"runtime\":\"$1\",\"size\":1,\"ready\":1,\"booting\":0"
}
wait_ready() {
	local i
	for i in $(seq 1 1200); do
		ready "$1" && return 0
		sleep 0.25
	done
	return 1
}
warm_cold() { # RUNTIME RUNS
	local rt=$1 n=$2 i
	rm -f "$WORK/$rt-warm.times" "$WORK/$rt-cold.times"
	# the first run through the daemon is cold and leaves the template
	"$SHUNT" run --runtime "$rt" -- true </dev/null >/dev/null 2>&1 || { echo "$rt: cannot run here"; return; }
	for i in $(seq 1 "$n"); do
		wait_ready "$rt" || { echo "$rt: the pool never became ready"; return; }
		time_one "$rt-warm" "$SHUNT" run --runtime "$rt" -- true </dev/null
		wait_ready "$rt" || { echo "$rt: the pool never became ready"; return; }
		SHUNT_NO_DAEMON=1 time_one "$rt-cold" "$SHUNT" run --runtime "$rt" -- true </dev/null
	done
	local w c
	w=$(median "$rt-warm") c=$(median "$rt-cold")
	printf 'shunt run --runtime %-7s -- true, cold (in-process):   %9s us (median of %d)\n' "$rt" "$c" "$n"
	printf 'shunt run --runtime %-7s -- true, warm (shuntd pool):  %9s us (median of %d)\n' "$rt" "$w" "$n"
	case "$w$c" in *FAILED*) return ;; esac
	printf '%s: speed-up %.1fx; warm is %.1f %% of cold\n' "$rt" \
		"$(echo "$c $w" | awk '{print $1 / $2}')" "$(echo "$c $w" | awk '{print 100 * $2 / $1}')"
}
if command -v qemu-system-x86_64 >/dev/null && { [ -r "$SHUNT_VM_CACHE/current/initrd.cpio" ] &&
	"$SHUNT_VM_BUILD_SCRIPT" >/dev/null 2>&1 || "$SHUNT" vm build >/dev/null 2>&1; }; then
	warm_cold microvm "${BENCH_VM_RUNS:-5}"
else
	echo "microvm: skipped (no qemu-system-x86_64 or no guest image: shunt vm build)"
fi
if command -v runsc >/dev/null; then
	warm_cold gvisor "${BENCH_GVISOR_RUNS:-10}"
else
	echo "gvisor: skipped (runsc is not installed)"
fi

# `shunt exec` of a line the policy sandboxes in a microVM: in-process
# (SHUNT_NO_DAEMON=1, a fresh VM) against through shuntd (the local
# fd-passing run, stdin and all, a warm VM from the pool).
exec_warm_cold() { # RUNS
	local n=$1 i
	"$SHUNT" daemon stop >/dev/null 2>&1
	cat >"$WORK/rules.yaml" <<'EOF2'
rules:
  - id: bench-sandbox
    description: bench line for the sandbox
    match: '^echo bench-sandbox'
    programs: [echo]
    risk: medium
    tags: [bench]
    examples: {match: ["echo bench-sandbox"], nomatch: ["echo hello"]}
EOF2
	cat >"$XDG_CONFIG_HOME/shunt/config.yaml" <<EOF2
rules: ["$WORK/rules.yaml"]
sandbox:
  runtime: microvm
  network_mode: none
pool:
  microvm: 1
EOF2
	"$SHUNT" daemon start >/dev/null || { echo "exec microvm: shuntd did not start"; return; }
	rm -f "$WORK/exec-warm.times" "$WORK/exec-cold.times"
	# the first run through the daemon is cold and leaves the template
	"$SHUNT" exec -c 'echo bench-sandbox' </dev/null >/dev/null 2>&1 || { echo "exec microvm: cannot run here"; return; }
	for i in $(seq 1 "$n"); do
		wait_ready microvm || { echo "exec microvm: the pool never became ready"; return; }
		time_one exec-warm "$SHUNT" exec -c 'echo bench-sandbox' </dev/null
		wait_ready microvm || { echo "exec microvm: the pool never became ready"; return; }
		SHUNT_NO_DAEMON=1 time_one exec-cold "$SHUNT" exec -c 'echo bench-sandbox' </dev/null
	done
	local w c
	w=$(median exec-warm) c=$(median exec-cold)
	printf 'shunt exec (microvm-routed line), cold (in-process):     %9s us (median of %d)\n' "$c" "$n"
	printf 'shunt exec (microvm-routed line), warm (shuntd fd-pass): %9s us (median of %d)\n' "$w" "$n"
	case "$w$c" in *FAILED*) return ;; esac
	printf 'shunt exec microvm: speed-up %.1fx; warm is %.1f %% of cold\n' \
		"$(echo "$c $w" | awk '{print $1 / $2}')" "$(echo "$c $w" | awk '{print 100 * $2 / $1}')"
}
if command -v qemu-system-x86_64 >/dev/null && [ -r "$SHUNT_VM_CACHE/current/initrd.cpio" ]; then
	exec_warm_cold "${BENCH_VM_RUNS:-5}"
else
	echo "exec microvm: skipped (no qemu-system-x86_64 or no guest image: shunt vm build)"
fi
exit 0
