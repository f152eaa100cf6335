#!/usr/bin/env bash
# Start-up cost of the container runners, median of N runs (wall time),
# side by side with the engine run bare:
#  - `shunt run --runtime gvisor -- /bin/true` vs `runsc run` of the same
#    bundle (the config.json shunt generated, same runsc flags); target
#    ratio <= 1.10.
#  - `shunt run --runtime podman -- /bin/true` vs a bare `podman run` of
#    the same image with the same flags.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHUNT=${SHUNT:-$BUILD/bin/shunt}
N=${BENCH_RUNS:-10}
WORK=$(mktemp -d /tmp/shunt-bench.XXXXXX)
chmod 755 "$WORK"
export SHUNT_NO_SYSTEM_CONFIG=1 XDG_RUNTIME_DIR="$WORK/run" XDG_CACHE_HOME="$WORK/cache"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
trap 'rm -rf "$WORK"' EXIT

time_one() {
	local label=$1 t0 t1
	shift
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "$label FAILED: $*" >&2; echo FAILED >>"$WORK/$label.times"; return; }
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000)) >>"$WORK/$label.times"
}
median() {
	[ -s "$WORK/$1.times" ] || { echo n/a; return; }
	grep -q FAILED "$WORK/$1.times" && { echo FAILED; return; }
	sort -n "$WORK/$1.times" | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'
}
ratio() { # A B TARGET
	case "$1$2" in
	*FAILED* | *n/a*) echo "  ratio: n/a" ;;
	*) awk -v s="$1" -v b="$2" -v t="$3" 'BEGIN {printf "  ratio shunt/bare: %.2f (target <= %s)\n", s / b, t}' ;;
	esac
}
cd "$WORK"

# --- gVisor ---
if command -v runsc >/dev/null && "$SHUNT" run --runtime gvisor --profile READ_ONLY --workspace "$WORK" -- /bin/true >/dev/null 2>&1; then
	RUNSC=$(command -v runsc)
	STATE="$XDG_RUNTIME_DIR/shunt/gvisor-state"
	PLATFORM=$(cat "$XDG_CACHE_HOME"/shunt/gvisor-platform* 2>/dev/null | head -1)
	PLATFORM=${PLATFORM:-ptrace}
	# capture the bundle shunt generates, with the command swapped for /bin/true
	"$SHUNT" run --runtime gvisor --profile READ_ONLY --workspace "$WORK" -- sleep 30 >/dev/null 2>&1 &
	spid=$!
	for _ in $(seq 100); do
		cfg=$(ls "$XDG_RUNTIME_DIR"/shunt/gvisor/*/config.json 2>/dev/null | head -1)
		[ -n "$cfg" ] && break
		sleep 0.05
	done
	mkdir -p "$WORK/bundle"
	python3 - "$cfg" "$WORK/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["/bin/true"]
for m in c["mounts"]:
    if m["source"].endswith("/empty"):
        m["source"] = sys.argv[2].rsplit("/", 1)[0] + "/empty"
json.dump(c, open(sys.argv[2], "w"))
PY
	: >"$WORK/bundle/empty"
	kill "$spid"
	wait "$spid" 2>/dev/null
	flags=(--root "$STATE" --platform="$PLATFORM" --network=none)
	[ "$(id -u)" != 0 ] && flags+=(--rootless --ignore-cgroups)
	# `runsc run` removes its container when it returns; delete only after a failure
	bare() { "$RUNSC" "${flags[@]}" run --bundle "$WORK/bundle" "bench-$1" || { "$RUNSC" --root "$STATE" delete -force "bench-$1"; return 1; }; }
	for ((i = 0; i < N; i++)); do
		time_one gv_shunt "$SHUNT" run --runtime gvisor --profile READ_ONLY --workspace "$WORK" -- /bin/true
		time_one gv_bare bare "$i"
	done
	s=$(median gv_shunt) b=$(median gv_bare)
	echo "gVisor start-up ($PLATFORM), median of $N runs (wall time):"
	printf '  %-44s %8s us\n' "shunt run --runtime gvisor -- /bin/true" "$s"
	printf '  %-44s %8s us\n' "runsc run (same bundle and flags)" "$b"
	ratio "$s" "$b" 1.10
else
	echo "gVisor: skipped (runsc missing or cannot start a sandbox here)"
fi

# --- podman ---
if command -v podman >/dev/null && "$SHUNT" run --runtime podman --profile READ_ONLY --workspace "$WORK" -- /bin/true >/dev/null 2>&1; then
	# the exact engine command line shunt uses, from its dry-run
	# (the built-in seccomp profile's temp file is replaced by the same
	# profile from the tree; the container name made unique per run)
	mapfile -t PCMD < <(SHUNT_ENGINE_PRINT=1 "$SHUNT" run --runtime podman --profile READ_ONLY --workspace "$WORK" -- /bin/true 2>/dev/null)
	bare_pm() {
		local a out=()
		for a in "${PCMD[@]}"; do
			case $a in
			--name=*) out+=("--name=shunt-bench-$1") ;;
			--security-opt=seccomp=/tmp/shunt-seccomp.*) out+=("--security-opt=seccomp=$TOP/sandbox/security/read_only.json") ;;
			*) out+=("$a") ;;
			esac
		done
		"${out[@]}"
	}
	for ((i = 0; i < N; i++)); do
		time_one pm_shunt "$SHUNT" run --runtime podman --profile READ_ONLY --workspace "$WORK" -- /bin/true
		[ ${#PCMD[@]} -gt 1 ] && time_one pm_bare bare_pm "$i"
	done
	s=$(median pm_shunt) b=$(median pm_bare)
	echo "podman start-up, median of $N runs (wall time):"
	printf '  %-44s %8s us\n' "shunt run --runtime podman -- /bin/true" "$s"
	printf '  %-44s %8s us\n' "podman run (same image and flags)" "$b"
	ratio "$s" "$b" 1.10
else
	echo "podman: skipped (podman missing, or shunt's podman runner cannot start here)"
fi
